"""Hands each endpoint's recent requests from one process to the next.

Pylon counts requests per organization, per endpoint, per minute. Dagster runs every step in a
process of its own, and the `pylon_api` pool lets one Pylon-calling step run at a time; but a new
step would start with an empty limiter while Pylon still counts the previous step's requests,
and the first burst would earn 429s. So every client writes the completion times of its recent
requests to a small file in the state folder when it closes, and every client reads, when it
opens, what other processes wrote. Entries older than one rate-limit window are dropped.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pylon_dagster.state import state_dir

Entry = tuple[int, str, float]
"""(process id, endpoint key, wall-clock completion time)."""


class BudgetLog:
    """The shared request log of one API host; safe across processes (file lock) and threads."""

    def __init__(self, path: Path, *, window_seconds: float, pid: int | None = None):
        self.path = path
        self.window_seconds = window_seconds
        self.pid = os.getpid() if pid is None else pid
        self._absorbed: set[Entry] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_host(cls, base_url: str, *, window_seconds: float) -> BudgetLog:
        digest = hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:16]
        return cls(state_dir() / "pylon-budget" / f"{digest}.json", window_seconds=window_seconds)

    def ages_from_other_processes(self) -> dict[str, list[float]]:
        """Requests other processes made inside the window and not taken into account yet."""
        now = time.time()
        with self._lock, self._locked() as entries:
            fresh = [e for e in entries if e[0] != self.pid and e not in self._absorbed]
            self._absorbed.update(fresh)
        ages: dict[str, list[float]] = {}
        for _, key, at in fresh:
            ages.setdefault(key, []).append(now - at)
        return ages

    def record(self, completions_by_endpoint: Mapping[str, list[float]]) -> None:
        """Replace this process's entries with its own requests (wall-clock completion times)."""
        mine = [
            (self.pid, key, at) for key, times in completions_by_endpoint.items() for at in times
        ]
        with self._lock, self._locked() as entries:
            entries[:] = [e for e in entries if e[0] != self.pid] + mine

    @contextmanager
    def _locked(self) -> Iterator[list[Entry]]:
        """The live entries, under an exclusive lock; changes to the list are written back."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            try:
                stored = [tuple(e) for e in json.loads(handle.read() or "[]")]
            except (json.JSONDecodeError, TypeError):
                stored = []  # a torn or foreign file only costs pacing history, never data
            horizon = time.time() - self.window_seconds
            entries: list[Entry] = [e for e in stored if len(e) == 3 and e[2] > horizon]
            yield entries
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(entries))
