"""Fixtures for driving the node with the unmodified upstream SDK, pycolonies."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from pycolonies import Colonies

if TYPE_CHECKING:
    from tests.conftest import ColonyFixture, Member


@pytest.fixture
def client(node) -> Colonies:
    """A pycolonies client pointed at the session node (plain HTTP on loopback)."""
    return Colonies("127.0.0.1", node.port)


@pytest.fixture
def executor(colony: "ColonyFixture") -> "Member":
    """An approved executor of type "test" in the fresh colony."""
    return colony.add_executor(executortype="test")
