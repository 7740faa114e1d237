"""Atomic downloads: bytes go to a hidden temporary file in the destination's directory and are
renamed over the final name only once verified. An interrupted download (even a killed process)
never leaves a partial file under the final name; a killed one may leave a `*.cfspart` file,
which listings should skip (`is_partial`)."""
from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

PARTIAL_SUFFIX = ".cfspart"


def is_partial(name: str) -> bool:
    """True for the temporary names downloads use (`.<name>.<hex>.cfspart`)."""
    return name.startswith(".") and name.endswith(PARTIAL_SUFFIX)


class AtomicFile:
    """`with AtomicFile(dest) as out: out.file.write(...); out.commit()`; without `commit()`
    (or on an exception) the temporary file is removed."""

    def __init__(self, dest: str | os.PathLike[str]) -> None:
        self.dest = Path(dest)
        self.temp = self.dest.with_name(f".{self.dest.name}.{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
        self._file: BinaryIO | None = None
        self._committed = False

    @property
    def file(self) -> BinaryIO:
        assert self._file is not None, "AtomicFile used outside its with-block"
        return self._file

    def __enter__(self) -> AtomicFile:
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: never write through someone else's file; 0o666 lets the umask decide, as for
        # any newly created file.
        fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._file = os.fdopen(fd, "wb")
        return self

    def commit(self) -> None:
        self.file.close()
        os.replace(self.temp, self.dest)
        self._committed = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._committed:
            return
        if self._file is not None:
            self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.temp)
