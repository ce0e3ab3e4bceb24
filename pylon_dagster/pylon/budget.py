"""Pylon's per-endpoint rate budget: how fast to go, who goes first, and what a response teaches.

Pylon limits requests per organization, per endpoint, per minute. Every request of every process
takes a slot from one shared budget (`PostgresRateBudget`); this module holds what does not depend
on where the budget is kept:

- Where the figures start from is `RateLimitConfig` (`catalog/rate_limits.py`): Pylon's newest
  published limits, a preset, or per-endpoint numbers.
- `AdaptiveLimit`: the rate in force for one endpoint and how it moves. Rate-limit headers set it
  outright. A 429 cuts it to what the server accepted in the last window, once per reaction (the
  requests already in flight when it was cut earn 429s of their own that say nothing new). A rate
  that stayed clean for a few windows while work was waiting for it probes a little higher, up to
  the ceiling; a probe that earns a 429 falls back to what the server accepted.
- `Priority`: freshness work (sensors, schedules, webhook runs) and bulk work (backfills, headless
  syncs). While freshness work waits, bulk work may use only `bulk_share` of the budget.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders

DECREASE_FACTOR = 0.5
"""A 429 when the server accepted nothing of ours in the window halves the rate."""
PROBE_AFTER_WINDOWS = 5
"""Windows a rate must stay clean, with work waiting for it, before it probes higher."""
PROBE_STEP = 0.05
"""A probe raises the rate by this fraction (at least one request per window)."""
MAX_PAUSE_SECONDS = 300.0
"""The longest pause a 429 imposes (the client caps `Retry-After` at the same). A stored pause
further ahead cannot come from this module: `AdaptiveLimit.implausible` says so."""


class Priority(StrEnum):
    FRESHNESS = "freshness"
    """Keeping the warehouse fresh: the issue-updates probe, schedule, sensor and webhook runs."""
    BULK = "bulk"
    """History: backfills, the headless sync, manual materializations."""


@dataclass(frozen=True)
class Grant:
    """A slot taken from the budget for one request."""

    endpoint_key: str
    slot_id: int
    waited_seconds: float
    rate: float
    """The endpoint's rate (requests per window) in force when the slot was taken."""
    rate_source: str
    taken_at: float


class RateBudget(Protocol):
    """Where every request takes its slot and reports how it went."""

    window_seconds: float

    def acquire(
        self, endpoint_key: str, priority: Priority, *, stop: threading.Event | None = None
    ) -> Grant:
        """Block until the endpoint's budget has room for one more request, then take it.

        Raises `PylonStoppedError` as soon as `stop` is set while waiting."""
        ...

    def release(
        self,
        grant: Grant,
        *,
        status_code: int | None,
        headers: RateLimitHeaders,
        retry_after: float | None,
    ) -> None:
        """Date the slot at the response (None: no response) and learn from what it said."""
        ...


@dataclass(frozen=True)
class AdaptiveLimit:
    """The state of one endpoint's rate. Times are seconds on the budget's clock."""

    rate: float
    ceiling: float
    source: str
    stable_since: float
    decreased_at: float | None = None
    paused_until: float | None = None
    freshness_waiting_until: float | None = None
    rate_limited_total: int = 0
    window_seconds: float = field(default=60.0, compare=False)

    @classmethod
    def start(cls, limit: int, source: str, *, now: float, window_seconds: float) -> AdaptiveLimit:
        return cls(
            rate=float(limit),
            ceiling=float(limit),
            source=source,
            stable_since=now,
            window_seconds=window_seconds,
        )

    def allowance(self, priority: Priority, *, now: float, bulk_share: float) -> int:
        """How many slots a request of `priority` may see used in the window and still go."""
        full = max(1, math.floor(self.rate))
        freshness_waits = (self.freshness_waiting_until or 0.0) > now
        if priority is Priority.BULK and freshness_waits:
            return max(1, math.floor(self.rate * bulk_share))
        return full

    def paused_for(self, now: float) -> float:
        return max(0.0, (self.paused_until or 0.0) - now)

    def probed(self, now: float) -> AdaptiveLimit:
        """Work is waiting for a rate that has been clean for a while: try a little higher."""
        if self.rate >= self.ceiling:
            return self
        if now - self.stable_since < PROBE_AFTER_WINDOWS * self.window_seconds:
            return self
        higher = min(self.ceiling, self.rate + max(1.0, self.rate * PROBE_STEP))
        return replace(self, rate=higher, stable_since=now)

    def after_429(
        self, *, taken_at: float, accepted_in_window: int, retry_after: float | None, now: float
    ) -> AdaptiveLimit:
        """Slow down for everyone, and pause for `Retry-After`.

        The cut is multiplicative by a measured factor: the rate becomes what the server accepted
        from every process sharing the budget in the last window (the most it allows us, or, when
        someone outside the budget uses the token too, the part left to us), at least one less
        than the rate that earned the 429. A failed probe so falls back to the last good rate.
        With nothing accepted in the window, the rate halves.
        """
        pause = retry_after if retry_after is not None else self.window_seconds / max(self.rate, 1)
        pause = min(pause, MAX_PAUSE_SECONDS)
        paused = replace(
            self,
            paused_until=max(self.paused_until or 0.0, now + pause),
            rate_limited_total=self.rate_limited_total + 1,
        )
        if self.decreased_at is not None and taken_at < self.decreased_at:
            return paused  # sent before the last decrease: it tells nothing new
        if accepted_in_window >= 1:
            lower = min(float(accepted_in_window), self.rate - 1)
        else:
            lower = self.rate * DECREASE_FACTOR
        source = self.source if self.source == "headers" else "learned from 429s"
        return replace(
            paused,
            rate=max(lower, 1.0),
            source=source,
            decreased_at=now,
            stable_since=now,
        )

    def after_headers(self, headers: RateLimitHeaders, *, now: float) -> AdaptiveLimit:
        """The server said its limit, or that nothing is left until a reset.

        The announced limit (per the header's own window, scaled to ours) becomes the ceiling,
        and the rate, unless a 429 cut the rate recently: then what the server accepted wins (the
        token may be shared with something outside the budget) and the rate probes back up. An
        empty budget pauses everyone until the reset, at most one window.
        """
        learned = self
        if headers.limit is not None:
            limit = float(headers.limit)
            if headers.window_seconds:
                limit = max(1.0, limit * self.window_seconds / headers.window_seconds)
            recently_cut = (
                self.decreased_at is not None
                and now - self.decreased_at < PROBE_AFTER_WINDOWS * self.window_seconds
            )
            rate = min(self.rate, limit) if recently_cut else limit
            if (rate, limit) != (self.rate, self.ceiling):
                learned = replace(
                    self, rate=rate, ceiling=limit, source="headers", stable_since=now
                )
        if headers.remaining == 0 and headers.reset_seconds:
            until = now + min(headers.reset_seconds, self.window_seconds)
            if until > (learned.paused_until or 0.0):
                learned = replace(learned, paused_until=until)
        return learned

    def describe(self) -> str:
        return f"{self.rate:g} per {self.window_seconds:g}s ({self.source})"

    def implausible(self, now: float) -> str | None:
        """Why this state cannot have been written by this module (a row edited by hand, or a
        clock gone wrong), or None. Such a state would raise (a NaN rate) or hold every request
        for years (a pause at infinity): the budget starts the endpoint afresh instead."""
        for name in ("rate", "ceiling"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 1):
                return f"{name} = {value!r}"
        window = self.window_seconds
        furthest = {
            "stable_since": window,
            "decreased_at": window,
            "freshness_waiting_until": window,
            "paused_until": max(MAX_PAUSE_SECONDS, window),
        }
        for name, ahead in furthest.items():
            value = getattr(self, name)
            if value is None:
                continue
            if not math.isfinite(value):
                return f"{name} = {value!r}"
            if value - now > ahead:
                return f"{name} {value - now:.0f} s ahead (at most {ahead:g} s)"
        return None
