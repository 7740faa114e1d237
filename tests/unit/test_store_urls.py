"""Store URLs: what the node accepts, and errors that never show the password."""
from __future__ import annotations

import pytest

from colonies.node.store.database import StoreURLError, parse_store_url


@pytest.mark.parametrize("url", ["sqlite:///data/colonies.db", "sqlite+aiosqlite:///data/colonies.db", "sqlite+pysqlite:///x.db"])
def test_sqlite_urls_run_on_the_nodes_own_sqlite_connection(url: str) -> None:
    parsed = parse_store_url(url)
    assert parsed.drivername == "sqlite" and parsed.database.endswith(".db")


@pytest.mark.parametrize("url", ["postgresql://u:pw@127.0.0.1:5432/c", "postgresql+asyncpg://u:pw@db/c", "postgres://u@db/c"])
def test_postgresql_urls_use_asyncpg(url: str) -> None:
    assert parse_store_url(url).drivername == "postgresql+asyncpg"


@pytest.mark.parametrize("url", ["mysql://bob:s3cret@db/x", "postgresql://bob:s3cret@[::1", "not a url at all", "oracle://bob:s3cret@h/x"])
def test_other_or_malformed_urls_are_one_line_errors_without_the_password(url: str) -> None:
    with pytest.raises(StoreURLError) as err:
        parse_store_url(url)
    message = str(err.value)
    assert "s3cret" not in message and "\n" not in message
    assert "sqlite:///PATH" in message and "postgresql+asyncpg://" in message


def test_a_raw_at_sign_in_the_password_is_refused_without_showing_any_of_it() -> None:
    with pytest.raises(StoreURLError, match="percent-encode an @") as err:
        parse_store_url("postgresql://bob:p@s3cret@127.0.0.1:5432/c")
    assert "s3cret" not in str(err.value)
