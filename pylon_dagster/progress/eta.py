"""Time left, computed from the requests still to make and the rates the budget grants.

Not from elapsed time: a sync against Pylon is paced by the rate budget, so the budget says how
long the rest takes. Per endpoint, with `rate` requests granted per `window` seconds (at least one):

- requests go `interval = window / floor(rate)` seconds apart at the budget's steady pace;
- with `remaining` requests still to make and the last one sent at `last`, the next can go at
  `next = max(now, last + interval)` (`now` before any request), and the last of them at
  `next + (remaining - 1) * interval`; the endpoint's time left is that moment minus `now`.

Endpoints have budgets of their own and a window's endpoints are fetched at the same time (issue
messages and threads), so the time left is the largest endpoint's. With the rate unchanged it never
grows: it falls with the clock, and a request sent late starts the same countdown it would have
reached on time. It ignores the free slots of the first window (a burst of up to `rate` requests),
so it errs long by at most one window.

Windows run side by side (the headless sync's runs, threads of one process) and share each
endpoint's budget, which grants its slots to the requests waiting in turn. So the other windows'
requests to the same endpoint go between this window's: while both have requests left, they
alternate. Of a sharer with `r_i` requests left, `min(r_i, remaining)` go before this window's last
one (a sharer with fewer finishes earlier and then leaves the whole rate to the rest), so that last
request is `ahead = sum(min(r_i, remaining))` slots further out (fair share: with k sharers all
with the same work left, k times as long). Only the windows open at the time count: a window that
opens later lengthens the time left when it counts its work.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointPace:
    """One endpoint's requests still to make and the pace its budget allows."""

    remaining: int | None
    """None: work is announced but not counted yet."""
    rate: float | None
    """Requests per window the budget granted on the latest request (None: none made yet)."""
    window_seconds: float
    last_request_at: float | None
    """When the latest request was sent, on the tracker's clock."""
    ahead: int | None = 0
    """Requests of the windows sharing the budget that go before the last of ours (see
    `requests_ahead`); None: a sharer has not counted its work yet."""

    @property
    def interval(self) -> float | None:
        if self.rate is None:
            return None
        return self.window_seconds / max(1, math.floor(self.rate))


def endpoint_seconds_left(pace: EndpointPace, now: float) -> float | None:
    """Seconds until the last remaining request can go; None while that or the rate is unknown."""
    if pace.remaining is None:
        return None
    if pace.remaining <= 0:
        return 0.0
    interval = pace.interval
    if interval is None or pace.ahead is None:
        return None
    next_at = now if pace.last_request_at is None else max(now, pace.last_request_at + interval)
    return next_at - now + (pace.remaining - 1 + pace.ahead) * interval


def requests_ahead(remaining: int, sharers: Iterable[int | None]) -> int | None:
    """How many of the sharers' requests go before the last of our `remaining` ones, with slots
    granted in turn: `min(r_i, remaining)` of each; None if a sharer's count is unknown."""
    total = 0
    for left in sharers:
        if left is None:
            return None
        total += min(left, remaining)
    return total


def seconds_left(paces: Iterable[EndpointPace], now: float) -> float | None:
    """The largest endpoint's time left; None with nothing planned or a rate still unknown."""
    lefts = [endpoint_seconds_left(pace, now) for pace in paces]
    if not lefts or any(left is None for left in lefts):
        return None
    return max(left for left in lefts if left is not None)
