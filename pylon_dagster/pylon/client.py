"""`PylonClient`: the one place that speaks HTTP to Pylon, as layers that each do one job.

A request goes down through httpx transports, each testable alone over `httpx.MockTransport`:

    RetryTransport      (retry.py)        429, 5xx, timeouts, dropped connections, truncated and
                                          malformed bodies: backoff with full jitter, `Retry-After`
      BudgetTransport   (budget_transport.py)  a slot of the shared rate budget per attempt; what
                                          each response said about the rate goes back to it
        WholeBodyTransport (whole_body.py)  the body read whole, within the request's deadline
          Network       (network.py)      httpx's connection pool, TLS settings and proxies

Above them, `PylonHttpClient` (http_client.py) decodes the JSON envelope and raises explicit
errors, `Pager` (pagination.py) follows cursors, and `IssueSearch` (search_windows.py) lists issues
by `updated_at` windows and `created_at` slices. This class puts them together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from pylon_dagster.catalog import endpoints
from pylon_dagster.catalog.endpoints import Endpoint
from pylon_dagster.progress.sink import NO_PROGRESS, ProgressSink
from pylon_dagster.pylon.budget import Priority, RateBudget
from pylon_dagster.pylon.budget_transport import BudgetTransport
from pylon_dagster.pylon.errors import PylonResponseError
from pylon_dagster.pylon.http_client import PylonHttpClient, not_a_json_object
from pylon_dagster.pylon.network import Network
from pylon_dagster.pylon.pagination import MAX_PAGE_SIZE, Pager, Record
from pylon_dagster.pylon.retry import RetrySettings, RetryTransport
from pylon_dagster.pylon.search_windows import IssueSearch
from pylon_dagster.pylon.stats import RequestStats
from pylon_dagster.pylon.whole_body import REQUEST_DEADLINE_SECONDS, WholeBodyTransport
from pylon_dagster.redaction import redact


class PylonClient:
    """A paced, retrying Pylon API client. Use as a context manager, or call `close()`.

    `transport` replaces httpx's network transport (e.g. `httpx.MockTransport` in unit tests).
    Setting `stop` makes every waiting or retrying request raise `PylonStoppedError` at once.
    Every request sent is reported to `progress`, with the rate its slot was granted at.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_token: str,
        budget: RateBudget | None = None,
        priority: Priority = Priority.BULK,
        retry: RetrySettings | None = None,
        timeout: httpx.Timeout | None = None,
        request_deadline: float = REQUEST_DEADLINE_SECONDS,
        page_size: int = MAX_PAGE_SIZE,
        search_window: timedelta = timedelta(days=30),
        window_overlap: timedelta = timedelta(seconds=1),
        search_span_cap: timedelta | None = None,
        max_pages: int = 100_000,
        transport: httpx.BaseTransport | None = None,
        stop: threading.Event | None = None,
        progress: ProgressSink = NO_PROGRESS,
    ):
        retry = retry or RetrySettings()
        stop = stop or threading.Event()
        self.stats = RequestStats()
        self.priority = priority
        self.progress = progress
        layers = RetryTransport(
            BudgetTransport(
                WholeBodyTransport(transport or Network(), deadline_seconds=request_deadline),
                budget=budget,
                priority=priority,
                stats=self.stats,
                stop=stop,
                retry_after_max_seconds=retry.retry_after_max_seconds,
                progress=progress,
            ),
            settings=retry,
            stats=self.stats,
            stop=stop,
            scrub=lambda text: redact(text, [api_token]),
            malformed=not_a_json_object,
        )
        self._http = PylonHttpClient(
            base_url=base_url, api_token=api_token, transport=layers, timeout=timeout
        )
        self._pager = Pager(self._http, page_size=page_size, max_pages=max_pages)
        self._search = IssueSearch(
            self._pager,
            self.stats,
            window=search_window,
            overlap=window_overlap,
            span_cap=search_span_cap,
        )

    def __enter__(self) -> PylonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"PylonClient(base_url={self._http.base_url!r})"

    @property
    def search_span_cap(self) -> timedelta | None:
        """The longest `updated_at` span Pylon takes in one search, once this client met it."""
        return self._search.span_cap

    def request(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request (retrying transient failures) and return the decoded JSON envelope."""
        return self._http.send(
            endpoint, path_params=path_params, params=params, json_body=json_body
        )

    def iter_pages(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> Iterator[list[Record]]:
        """Each page's `data` list, one request per page (see `Pager.iter_pages`)."""
        return self._pager.iter_pages(
            endpoint, path_params=path_params, params=params, json_body=json_body
        )

    def iter_records(self, endpoint: Endpoint, **kwargs: Any) -> Iterator[Record]:
        return self._pager.iter_records(endpoint, **kwargs)

    def me(self) -> dict[str, Any]:
        """`GET /me`: the cheapest way to check that the token and URL work."""
        data = self.request(endpoints.ME).get("data")
        if not isinstance(data, dict):
            raise PylonResponseError("GET /me answered without a `data` object")
        return data

    def iter_issue_pages_updated_between(
        self, start: datetime, end: datetime
    ) -> Iterator[list[Record]]:
        """See `IssueSearch.pages_updated_between`."""
        return self._search.pages_updated_between(start, end)

    def iter_issue_pages_updated_since(
        self,
        start: datetime,
        *,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        page_limit: int | None = None,
    ) -> Iterator[list[Record]]:
        """See `IssueSearch.pages_updated_since`."""
        return self._search.pages_updated_since(
            start,
            created_from=created_from,
            created_before=created_before,
            page_limit=page_limit,
        )
