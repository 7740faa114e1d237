"""What the domain refuses, without HTTP: the RPC edge (node/app.py) picks each status once."""
from __future__ import annotations


class DomainError(Exception):
    """A refused request; the message is meant for the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(DomainError):
    """The request is malformed or breaks a rule of the protocol."""


class Forbidden(DomainError):
    """The caller may not do this."""


class NotFound(DomainError):
    """What the request names does not exist."""


class Conflict(DomainError):
    """It clashes with what already exists."""
