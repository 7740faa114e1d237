"""Kubernetes-style cpu and memory quantities used by conditions and assign (spec §3.5, §4.1)."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from colonies.node.resources import UNLIMITED, QuantityError, cpu_millicores, mem_mebibytes


@pytest.mark.parametrize(
    "text, millicores",
    [("500m", 500), ("1000m", 1000), ("0m", 0), ("2", 2000), ("0.5", 500), ("1.5m", 1), (" 250m ", 250), ("0", 0)],
)
def test_cpu_quantities_in_millicores(text, millicores):
    assert cpu_millicores(text) == millicores


def test_empty_cpu_uses_the_given_default():
    assert cpu_millicores("") == 0
    assert cpu_millicores("   ") == 0
    assert cpu_millicores("", empty=UNLIMITED) == UNLIMITED


@pytest.mark.parametrize(
    "text, mebibytes",
    [
        ("1Gi", 1024),
        ("512Mi", 512),
        ("2Ti", 2 * 1024 * 1024),
        ("1Pi", 1024**3),
        ("1G", 953),
        ("1000M", 953),
        ("1T", 953_674),
        ("2048Ki", 2),
        ("1Ki", 0),
        ("1048576", 1),
        ("1k", 0),
        ("1.5Gi", 1536),
        (" 8Gi ", 8192),
    ],
)
def test_memory_quantities_in_mebibytes(text, mebibytes):
    assert mem_mebibytes(text) == mebibytes


def test_empty_memory_uses_the_given_default():
    assert mem_mebibytes("") == 0
    assert mem_mebibytes("", empty=UNLIMITED) == UNLIMITED


@pytest.mark.parametrize("text", ["lots", "m", "1.2.3", "5 cores", "0x10"])
def test_unparseable_cpu_raises_quantity_error(text):
    with pytest.raises(QuantityError):
        cpu_millicores(text)


@pytest.mark.parametrize("text", ["lots", "Gi", "1.2.3Mi", "12Gb", "five hundred"])
def test_unparseable_memory_raises_quantity_error(text):
    with pytest.raises(QuantityError):
        mem_mebibytes(text)


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "infm", "1e400"])
def test_non_finite_cpu_raises_quantity_error(text):
    with pytest.raises(QuantityError):
        cpu_millicores(text)


@pytest.mark.parametrize("text", ["inf", "infGi", "nan", "nanMi", "1e400Ki"])
def test_non_finite_memory_raises_quantity_error(text):
    with pytest.raises(QuantityError):
        mem_mebibytes(text)


def test_quantity_error_is_a_value_error():
    assert issubclass(QuantityError, ValueError)


@given(st.integers(min_value=0, max_value=10**9))
def test_millicore_suffix_is_read_literally(n):
    assert cpu_millicores(f"{n}m") == n


@given(st.integers(min_value=0, max_value=10**6))
def test_whole_cores_are_a_thousand_millicores(n):
    assert cpu_millicores(str(n)) == n * 1000


@given(st.integers(min_value=0, max_value=10**6))
def test_binary_units_scale_by_1024(n):
    assert mem_mebibytes(f"{n}Mi") == n
    assert mem_mebibytes(f"{n}Gi") == n * 1024
    assert mem_mebibytes(f"{n * 1024}Ki") == n
