"""How much of Pylon's search budget a scheduled deletion pass may take, so how large its slice is.

A scheduled pass may make `SEARCH_SHARE` of the `POST /issues/search` requests of one hour (60 of
the budget's rate-limit windows, each one of Pylon's minutes: the `pylon_issue_deletions`
schedule runs hourly by default), whatever the size of the organization: a large one is swept in
more, smaller slices, a small one in a single slice every pass. The rate is the one in force in
the shared budget (`pylon_rate_limits`: started from `PYLON_RATE_LIMITS`, Pylon's published limits
by default, then learned from its headers and 429s). A slice holds at most `SliceBudget.rows`
stored issues, leaving room for the issues Pylon has that the warehouse does not yet (created
since the last sync) and for the empty last page a listing may cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

SEARCH_SHARE = 0.04
"""The share of an hour's search budget one scheduled pass may use."""
PASS_INTERVAL = timedelta(hours=1)
"""The schedule's default interval (`PYLON_DELETIONS_SCHEDULE_CRON`, hourly)."""
WINDOWS_PER_INTERVAL = 60
"""Rate-limit windows (Pylon's minutes) in `PASS_INTERVAL`."""
SLICE_FILL = 0.9
"""The share of a pass's pages filled with the issues the warehouse holds."""


@dataclass(frozen=True)
class SliceBudget:
    """The search requests one scheduled pass may make, and the slice that fits in them."""

    searches: int
    page_size: int

    @classmethod
    def of(
        cls, search_rate_per_window: float, page_size: int, share: float = SEARCH_SHARE
    ) -> SliceBudget:
        """The budget at `search_rate_per_window` (requests per rate-limit window)."""
        searches = math.floor(share * search_rate_per_window * WINDOWS_PER_INTERVAL)
        return cls(max(searches, 2), page_size)

    @property
    def rows(self) -> int:
        """Stored issues per slice: `SLICE_FILL` of the pages, one request kept for an empty
        last page."""
        return max(1, math.floor((self.searches - 1) * self.page_size * SLICE_FILL))

    def passes_per_cycle(self, issues: int) -> int:
        """Passes that judge every one of `issues` stored issues once."""
        return max(1, math.ceil(issues / self.rows))

    def time_to_notice(self, issues: int) -> timedelta:
        """The longest time from a deletion to the pass that judges its slice (plus the time that
        pass takes): a whole cycle, when its slice was judged just before."""
        return self.passes_per_cycle(issues) * PASS_INTERVAL
