"""`PylonResource`: the Dagster resource every Pylon-reading asset uses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import dagster as dg
import httpx
from pydantic import Field

from pylon_dagster.pylon.budget_log import BudgetLog
from pylon_dagster.pylon.client import MAX_PAGE_SIZE, PylonClient, RetrySettings
from pylon_dagster.pylon.endpoints import RATE_LIMITS_PER_MINUTE, ApiVersion
from pylon_dagster.pylon.pacing import EndpointLimiters

DEFAULT_BASE_URL = "https://api.usepylon.com"

_limiters_lock = threading.Lock()
_limiters_by_budget: dict[tuple, tuple[EndpointLimiters, BudgetLog]] = {}


def _shared_limiters(
    base_url: str, limits: dict[str, int], window_seconds: float
) -> tuple[EndpointLimiters, BudgetLog]:
    """One set of limiters per (host, limits) in this process, so concurrent clients share budgets,
    with the log through which processes hand their recent requests to each other."""
    key = (base_url.rstrip("/"), window_seconds, tuple(sorted(limits.items())))
    with _limiters_lock:
        if key not in _limiters_by_budget:
            _limiters_by_budget[key] = (
                EndpointLimiters(limits, window_seconds),
                BudgetLog.for_host(base_url, window_seconds=window_seconds),
            )
        return _limiters_by_budget[key]


class PylonResource(dg.ConfigurableResource):
    """Pylon's REST API over httpx: paced per endpoint, retried with backoff, paginated lazily.

    The token is read from `PYLON_API_TOKEN` (bind it with `dg.EnvVar`); it is sent only in the
    Authorization header and never logged, raised or shown.
    """

    api_token: str = Field(repr=False, description="Pylon API token (Settings > API, Admin only).")
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="API host: the US host, https://api.eu.usepylon.com, or the local emulator.",
    )
    timeout_seconds: float = Field(default=30.0, description="Read/write timeout per request.")
    connect_timeout_seconds: float = Field(default=10.0)
    max_attempts: int = Field(default=6, description="Attempts per request before giving up.")
    backoff_base_seconds: float = Field(default=1.0)
    backoff_max_seconds: float = Field(default=60.0)
    rate_limit_preset: ApiVersion = Field(
        default="2026-04",
        description="Which published per-minute limits to pace by: '2026-04' or '2026-10'.",
    )
    rate_limits: dict[str, int] = Field(
        default_factory=dict,
        description="Per-endpoint overrides, e.g. {'POST /issues/search': 120}.",
    )
    rate_limit_window_seconds: float = Field(
        default=60.0,
        description="Length of a rate-limit minute (shorter only against the emulator).",
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, description="`limit` sent with list requests.")
    search_window_days: int = Field(
        default=30, description="Longest updated_at window per issue search (Pylon caps it at 30)."
    )

    def rate_limits_per_minute(self) -> dict[str, int]:
        return {**RATE_LIMITS_PER_MINUTE[self.rate_limit_preset], **self.rate_limits}

    @contextmanager
    def get_client(self, *, max_attempts: int | None = None) -> Iterator[PylonClient]:
        """A client; `max_attempts` overrides the configured one (e.g. for a quick preflight)."""
        limiters, budget_log = _shared_limiters(
            self.base_url, self.rate_limits_per_minute(), self.rate_limit_window_seconds
        )
        limiters.absorb(budget_log.ages_from_other_processes())
        client = PylonClient(
            base_url=self.base_url,
            api_token=self.api_token,
            limiters=limiters,
            retry=RetrySettings(
                max_attempts=max_attempts or self.max_attempts,
                backoff_base_seconds=self.backoff_base_seconds,
                backoff_max_seconds=self.backoff_max_seconds,
            ),
            timeout=httpx.Timeout(self.timeout_seconds, connect=self.connect_timeout_seconds),
            page_size=self.page_size,
            search_window=timedelta(days=self.search_window_days),
        )
        try:
            with client:
                yield client
        finally:
            budget_log.record(limiters.own_completions())
