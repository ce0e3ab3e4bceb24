"""`RecordingBudget`: an in-memory `RateBudget` for the client's in-process tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pylon_dagster.pylon.budget import Grant, Priority
from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders


@dataclass
class RecordingBudget:
    """A budget that grants every slot at once and records what each response taught."""

    window_seconds: float = 60.0
    acquired: list[tuple[str, Priority]] = field(default_factory=list)
    released: list[tuple[int | None, RateLimitHeaders, float | None]] = field(default_factory=list)

    def acquire(
        self, endpoint_key: str, priority: Priority, *, stop: threading.Event | None = None
    ) -> Grant:
        self.acquired.append((endpoint_key, priority))
        return Grant(endpoint_key, len(self.acquired), 0.0, 120.0, "published 2026-10", 0.0)

    def release(
        self,
        grant: Grant,
        *,
        status_code: int | None,
        headers: RateLimitHeaders,
        retry_after: float | None,
    ) -> None:
        self.released.append((status_code, headers, retry_after))
