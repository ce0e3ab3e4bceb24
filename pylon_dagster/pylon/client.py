"""`PylonClient`: the one place that speaks HTTP to Pylon.

Every request takes its slot from a shared `RateBudget` and reports back what the response said
about the rate (429s, rate-limit headers). The client retries what is worth retrying (429, 5xx,
timeouts, dropped connections, truncated bodies) with exponential backoff, full jitter and
`Retry-After`, fails fast on auth errors, and pages through cursor-paginated lists one page at a time.
"""

from __future__ import annotations

import email.utils
import hashlib
import itertools
import json
import logging
import math
import os
import random
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx

from pylon_dagster.progress.sink import NO_PROGRESS, ProgressSink
from pylon_dagster.pylon import endpoints
from pylon_dagster.pylon.budget import Grant, Priority, RateBudget
from pylon_dagster.pylon.endpoints import Endpoint
from pylon_dagster.pylon.errors import (
    PylonAuthenticationError,
    PylonNotFoundError,
    PylonPageLimitReached,
    PylonRequestError,
    PylonResponseError,
    PylonStoppedError,
    PylonUnavailableError,
)
from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders, parse_rate_limit_headers
from pylon_dagster.pylon.timestamps import format_timestamp, parse_timestamp
from pylon_dagster.redaction import is_header_safe, redact, redact_json

logger = logging.getLogger(__name__)

Record = dict[str, Any]
MAX_PAGE_SIZE = 999
UNPACED_WINDOW_SECONDS = 60.0
"""The window reported with the requests of a client without a budget (no rate to pace by)."""
REQUEST_DEADLINE_SECONDS = 120.0
"""Longest one request may take, its body included: httpx's read timeout bounds each wait for
bytes, so a body that trickles in a byte at a time would otherwise never time out."""


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try before giving up on one request."""

    max_attempts: int = 6
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    retry_after_max_seconds: float = 300.0

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the given 1-based failed attempt."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


@dataclass
class RequestStats:
    """What a client did, for materialization metadata and for tests. Thread-safe."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    paced_seconds: float = 0.0
    search_windows: int = 0
    by_endpoint: Counter[str] = field(default_factory=Counter)
    rates: dict[str, str] = field(default_factory=dict)
    """Per endpoint, the rate in force for its latest request and where that rate came from."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, endpoint_key: str, **increments: float) -> None:
        with self._lock:
            for name, amount in increments.items():
                setattr(self, name, getattr(self, name) + amount)
            if increments.get("requests"):
                self.by_endpoint[endpoint_key] += 1

    def note_rate(self, grant: Grant, window_seconds: float) -> None:
        with self._lock:
            self.rates[grant.endpoint_key] = (
                f"{grant.rate:g} per {window_seconds:g}s ({grant.rate_source})"
            )

    def as_metadata(self) -> dict[str, Any]:
        return {
            "api_requests": self.requests,
            "api_retries": self.retries,
            "api_429s": self.rate_limited,
            "api_5xx": self.server_errors,
            "api_transport_errors": self.transport_errors,
            "api_paced_seconds": round(self.paced_seconds, 3),
            "api_search_windows": self.search_windows,
            "api_rate_limits": dict(sorted(self.rates.items())),
        }


class _RetryableFailure(Exception):
    def __init__(self, description: str, retry_after: float | None = None):
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after


@cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS settings for Pylon: httpx's defaults (certifi's CA bundle, or
    `SSL_CERT_FILE`/`SSL_CERT_DIR`, read when it is first built), built once per process.
    Building them loads the whole CA bundle, about 25 ms of CPU, and a client is made for every
    step of every run. A forked child builds its own."""
    return httpx.create_ssl_context()


os.register_at_fork(after_in_child=tls_context.cache_clear)


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
        if not api_token or not is_header_safe(api_token):
            raise PylonAuthenticationError(
                status_code=0,
                base_url=base_url,
                errors=[
                    "the API token holds whitespace, control or non-ASCII characters"
                    if api_token
                    else "no API token configured"
                ],
                request_id=None,
            )
        if not 0 < request_deadline < math.inf:
            raise ValueError(f"request_deadline must be a positive number, got {request_deadline}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        if search_window <= 2 * window_overlap:
            raise ValueError("search_window must be longer than twice window_overlap")
        if search_span_cap is not None and search_span_cap <= 2 * window_overlap:
            raise ValueError("search_span_cap must be longer than twice window_overlap")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetrySettings()
        self.request_deadline = request_deadline
        self.page_size = page_size
        self.search_window = search_window
        self.window_overlap = window_overlap
        self.search_span_cap = search_span_cap
        self.max_pages = max_pages
        self.stats = RequestStats()
        self._budget = budget
        self.priority = priority
        self._token = api_token
        self._stop = stop or threading.Event()
        self.progress = progress
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_token}",
                "Accept": "application/json",
                "User-Agent": "pylon-dagster",
            },
            timeout=timeout or httpx.Timeout(30.0, connect=10.0),
            transport=transport,
            verify=tls_context(),
        )

    def __enter__(self) -> PylonClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"PylonClient(base_url={self.base_url!r})"

    # -- single requests -------------------------------------------------------------------------

    def request(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Send one request (retrying transient failures) and return the decoded JSON envelope."""
        path = endpoint.url_path(**(path_params or {}))
        for attempt in range(1, self.retry.max_attempts + 1):
            if self._stop.is_set():
                raise PylonStoppedError()
            try:
                return self._attempt(endpoint, path, params, json_body)
            except _RetryableFailure as failure:
                if attempt == self.retry.max_attempts:
                    raise PylonUnavailableError(
                        method=endpoint.method,
                        url=self.base_url + path,
                        attempts=attempt,
                        last_failure=failure.description,
                    ) from None
                delay = failure.retry_after
                if delay is None:
                    delay = self.retry.backoff(attempt)
                logger.warning(
                    "%s %s: %s; retrying in %.2fs (attempt %d of %d)",
                    endpoint.method,
                    path,
                    failure.description,
                    delay,
                    attempt + 1,
                    self.retry.max_attempts,
                )
                self.stats.add(endpoint.key, retries=1)
                self._stop.wait(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _attempt(
        self,
        endpoint: Endpoint,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        grant = self._take_slot(endpoint)
        try:
            response = self._read_within_deadline(endpoint, path, params, json_body)
        except httpx.TransportError as exc:
            # Timeouts, refused or dropped connections, truncated transfers.
            self._give_back(grant, None)
            self.stats.add(endpoint.key, transport_errors=1)
            raise _RetryableFailure(self._redact(f"{type(exc).__name__}: {exc}")) from None
        except BaseException:
            self._give_back(grant, None)  # whatever ended the request, the slot is dated now
            raise
        self._give_back(grant, response)
        return self._decode(endpoint, path, response)

    def _read_within_deadline(
        self,
        endpoint: Endpoint,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
    ) -> httpx.Response:
        """The whole response, or `httpx.ReadTimeout` once `request_deadline` has passed."""
        deadline = time.monotonic() + self.request_deadline
        with self._http.stream(endpoint.method, path, params=params, json=json_body) as response:
            response.stream = _DeadlineStream(response, deadline, self.request_deadline)
            response.read()
        return response

    def _take_slot(self, endpoint: Endpoint) -> Grant | None:
        if self._budget is None:
            self.stats.add(endpoint.key, requests=1)
            self.progress.requested(endpoint.key, None, UNPACED_WINDOW_SECONDS)
            return None
        grant = self._budget.acquire(endpoint.key, self.priority, stop=self._stop)
        self.stats.add(endpoint.key, requests=1, paced_seconds=grant.waited_seconds)
        self.stats.note_rate(grant, self._budget.window_seconds)
        self.progress.requested(endpoint.key, grant.rate, self._budget.window_seconds)
        return grant

    def _give_back(self, grant: Grant | None, response: httpx.Response | None) -> None:
        """Date the slot at the response (None: the request got none) and report what it said."""
        if self._budget is None or grant is None:
            return
        status = response.status_code if response is not None else None
        self._budget.release(
            grant,
            status_code=status,
            headers=parse_rate_limit_headers(response.headers) if response else RateLimitHeaders(),
            retry_after=_retry_after_seconds(response, self.retry) if status == 429 else None,
        )

    def _decode(self, endpoint: Endpoint, path: str, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if response.is_redirect:
            location = self._redact(response.headers["location"])
            raise PylonResponseError(
                f"{endpoint.method} {self.base_url + path} answered {status}, a redirect to "
                f"{location}. Redirects are not followed (the API token would go along): set "
                "PYLON_API_URL to your organization's API host itself (https://api.usepylon.com, "
                "or https://api.eu.usepylon.com for EU organizations)."
            )
        if status == 429:
            self.stats.add(endpoint.key, rate_limited=1)
            raise _RetryableFailure("429 rate limited", _retry_after_seconds(response, self.retry))
        if status >= 500:
            self.stats.add(endpoint.key, server_errors=1)
            raise _RetryableFailure(
                f"{status} server error", _retry_after_seconds(response, self.retry)
            )
        body = redact_json(_json_or_none(response), [self._token], source=response.content)
        if status in (401, 403):
            errors, request_id, _ = _error_fields(body)
            raise PylonAuthenticationError(
                status_code=status, base_url=self.base_url, errors=errors, request_id=request_id
            )
        if status >= 400:
            errors, request_id, code = _error_fields(body)
            error_type = PylonNotFoundError if status == 404 else PylonRequestError
            raise error_type(
                status_code=status,
                method=endpoint.method,
                url=self.base_url + path,
                errors=errors,
                request_id=request_id,
                code=code,
            )
        if not isinstance(body, dict):
            content_type = self._redact(response.headers.get("content-type", "no content type"))
            raise _RetryableFailure(
                f"{status} response whose body is not a JSON object ({content_type}, "
                f"{len(response.content)} bytes): Pylon or a proxy sent a malformed response"
            )
        return body

    def _redact(self, text: str) -> str:
        """`text` without the token, in any letter case. Every text taken from a response (its
        decoded body is scrubbed whole in `_decode`) or from httpx passes here first."""
        return redact(text, [self._token])

    # -- pagination ------------------------------------------------------------------------------

    def iter_pages(
        self,
        endpoint: Endpoint,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        page_limit: int | None = None,
    ) -> Iterator[list[Record]]:
        """Yield the `data` list of each page until Pylon says there is no next page.

        With a `page_limit`, a next page after that many raises `PylonPageLimitReached` instead of
        being requested.

        GET endpoints take `cursor`/`limit` as query parameters, POST searches in the JSON body.
        Paging stops when `has_next_page` is false, the cursor is empty, or `pagination` is missing;
        a missing `data` is an empty page. A cursor seen twice, or a page equal to an earlier one
        (records and all, empty pages too) under a new cursor, means the pagination would never
        end: a server that ignores the cursor, or makes up new ones after the last page.
        """
        in_body = endpoint.method == "POST"
        base = dict((json_body if in_body else params) or {})
        base["limit"] = self.page_size
        seen_cursors: set[str] = set()
        seen_pages: set[bytes] = set()
        cursor: str | None = None
        for _ in range(self.max_pages if page_limit is None else page_limit):
            page_args = dict(base) if cursor is None else {**base, "cursor": cursor}
            envelope = self.request(
                endpoint,
                path_params=path_params,
                params=None if in_body else page_args,
                json_body=page_args if in_body else None,
            )
            records = _page_records(envelope, endpoint)
            yield records
            cursor = _next_cursor(envelope, endpoint)
            if cursor is None:
                return
            if cursor in seen_cursors:
                raise PylonResponseError(
                    f"{endpoint.key} returned a cursor it had already returned: the pagination "
                    "would never end, so the sync stopped instead of looping."
                )
            fingerprint = _fingerprint(records)
            if fingerprint in seen_pages:
                raise PylonResponseError(
                    f"{endpoint.key} answered a page equal to an earlier one under a new cursor: "
                    "the pagination would never end, so the sync stopped instead of looping."
                )
            seen_cursors.add(cursor)
            seen_pages.add(fingerprint)
        if page_limit is not None:
            raise PylonPageLimitReached(f"{endpoint.key} had more than {page_limit} pages")
        raise PylonResponseError(
            f"{endpoint.key} still had more pages after {self.max_pages} pages; stopped as a guard."
        )

    def iter_records(self, endpoint: Endpoint, **kwargs: Any) -> Iterator[Record]:
        for page in self.iter_pages(endpoint, **kwargs):
            yield from page

    # -- Pylon operations ------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """`GET /me`: the cheapest way to check that the token and URL work."""
        data = self.request(endpoints.ME).get("data")
        if not isinstance(data, dict):
            raise PylonResponseError("GET /me answered without a `data` object")
        return data

    def iter_issue_pages_updated_between(
        self, start: datetime, end: datetime
    ) -> Iterator[list[Record]]:
        """Pages of issues with `start <= updated_at < end`, one search per window of <= 30 days.

        Whether Pylon's `time_is_after`/`time_is_before` are strict is undocumented, so each search
        is widened by `window_overlap` on both sides and its records are cut back to the half-open
        window here: a record exactly on a boundary lands in exactly one window, never in none.
        Whether Pylon caps a search at 30 days is disputed too. A widened 30-day window is a little
        longer than 30 days, so when Pylon rejects one, the window is split to fit the cap and the
        cap is remembered for the rest of this client's life.
        """
        pending = list(split_windows(start, end, self.search_window))
        while pending:
            window_start, window_end = pending.pop(0)
            padded = (window_start - self.window_overlap, window_end + self.window_overlap)
            if self.search_span_cap and padded[1] - padded[0] > self.search_span_cap:
                pending[:0] = split_windows(
                    window_start, window_end, self.search_span_cap - 2 * self.window_overlap
                )
                continue
            pages = self.iter_pages(
                endpoints.ISSUES_SEARCH, json_body={"filter": _updated_between_filter(*padded)}
            )
            try:
                first_page = next(pages, [])
            except PylonRequestError as exc:
                if exc.status_code != 400 or padded[1] - padded[0] <= self.search_window:
                    raise
                logger.warning(
                    "Pylon rejected a search window of %s (%s); searching windows of at most %s",
                    padded[1] - padded[0],
                    "; ".join(exc.errors),
                    self.search_window,
                )
                self.search_span_cap = self.search_window
                pending.insert(0, (window_start, window_end))
                continue
            self.stats.add(endpoints.ISSUES_SEARCH.key, search_windows=1)
            for page in itertools.chain([first_page], pages):
                yield [issue for issue in page if _in_window(issue, window_start, window_end)]

    def iter_issue_pages_updated_since(
        self,
        start: datetime,
        *,
        created_from: datetime | None = None,
        created_before: datetime | None = None,
        page_limit: int | None = None,
    ) -> Iterator[list[Record]]:
        """Pages of every issue with `updated_at >= start` (widened by `window_overlap`) and, when
        given, `created_from <= created_at < created_before` (a slice of the deletion sweep); more
        than `page_limit` pages raise `PylonPageLimitReached` (see `iter_pages`).

        One search with no upper `updated_at` bound: an issue updated while the listing pages
        along only moves later (its `updated_at` grows), so it is listed all the same, which a
        listing cut into windows cannot promise; `created_at` never moves, so a slice of it is as
        safe. The `created_at` bounds are widened by `window_overlap` too (their strictness is
        undocumented) and the records cut back to the half-open slice here. When Pylon caps the
        `updated_at` range of a search (it rejects the open range, or this client already met the
        cap), the search drops the `updated_at` condition: it lists the slice's older issues too,
        at one request per page all the same.
        """
        overlap = self.window_overlap
        created = _created_between_subfilters(
            None if created_from is None else created_from - overlap,
            None if created_before is None else created_before + overlap,
        )
        pages: Iterator[list[Record]] | None = None
        if self.search_span_cap is None:
            after = {
                "field": "updated_at",
                "operator": "time_is_after",
                "value": format_timestamp(start - self.window_overlap),
            }
            # Shaped like the windows' filter, the one Pylon is known to take: an `and` on top.
            since = {"operator": "and", "subfilters": [*created, after]}
            searched = self.iter_pages(
                endpoints.ISSUES_SEARCH, json_body={"filter": since}, page_limit=page_limit
            )
            try:
                first_page = next(searched, [])
            except PylonRequestError as exc:
                if exc.status_code != 400:
                    raise
                logger.warning(
                    "Pylon rejected an open updated_at range (%s); listing without it instead",
                    "; ".join(exc.errors),
                )
                self.search_span_cap = self.search_window
            else:
                pages = itertools.chain([first_page], searched)
        if pages is None:
            body = {"filter": {"operator": "and", "subfilters": created}} if created else None
            pages = self.iter_pages(endpoints.ISSUES_SEARCH, json_body=body, page_limit=page_limit)
        for page in pages:
            yield [i for i in page if _created_in(i, created_from, created_before)]


def split_windows(
    start: datetime, end: datetime, size: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """Consecutive half-open windows `[a, b)` of at most `size` covering `[start, end)`."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("window bounds must be timezone-aware datetimes")
    cursor = start
    while cursor < end:
        window_end = min(cursor + size, end)
        yield cursor, window_end
        cursor = window_end


def _updated_between_filter(after: datetime, before: datetime) -> dict[str, Any]:
    return {
        "operator": "and",
        "subfilters": [
            {"field": "updated_at", "operator": "time_is_after", "value": format_timestamp(after)},
            {
                "field": "updated_at",
                "operator": "time_is_before",
                "value": format_timestamp(before),
            },
        ],
    }


def _created_between_subfilters(
    after: datetime | None, before: datetime | None
) -> list[dict[str, Any]]:
    """The `created_at` conditions of a slice; an open (None) bound has none."""
    bounds = (("time_is_after", after), ("time_is_before", before))
    return [
        {"field": "created_at", "operator": operator, "value": format_timestamp(moment)}
        for operator, moment in bounds
        if moment is not None
    ]


def _created_in(issue: Record, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    created_at = parse_timestamp(issue.get("created_at"))
    # A record whose created_at cannot be read is kept: listed, it can only keep an issue alive.
    return created_at is None or (
        (start is None or start <= created_at) and (end is None or created_at < end)
    )


def _in_window(issue: Record, start: datetime, end: datetime) -> bool:
    updated_at = parse_timestamp(issue.get("updated_at"))
    # A record whose updated_at cannot be read is kept: Pylon matched it, we cannot place it.
    return updated_at is None or start <= updated_at < end


def _page_records(envelope: dict[str, Any], endpoint: Endpoint) -> list[Record]:
    data = envelope.get("data")
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise PylonResponseError(
            f"{endpoint.key} answered with `data` that is not a list of objects "
            f"(request_id={envelope.get('request_id')})"
        )
    return data


def _next_cursor(envelope: dict[str, Any], endpoint: Endpoint) -> str | None:
    pagination = envelope.get("pagination")
    if pagination is None:
        return None
    if not isinstance(pagination, dict):
        raise PylonResponseError(f"{endpoint.key} answered with a malformed `pagination`")
    cursor = pagination.get("cursor")
    if not pagination.get("has_next_page") or not cursor:
        return None
    return str(cursor)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    except RecursionError:
        # Deterministic, so not worth a retry; Pylon's envelope is a few levels deep.
        raise PylonResponseError(
            f"{response.request.method} {response.request.url.copy_with(query=None)} answered "
            f"{response.status_code} with JSON nested deeper than Python reads (about "
            f"{sys.getrecursionlimit()} levels): not Pylon's envelope."
        ) from None


def _fingerprint(records: list[Record]) -> bytes:
    """A digest of a page's records, to tell a page served again from a new one."""
    return hashlib.blake2b(json.dumps(records).encode(), digest_size=16).digest()


class _DeadlineStream(httpx.SyncByteStream):
    """A response body that raises `httpx.ReadTimeout` (retried like any timeout) when it has not
    ended by `deadline` (`time.monotonic()`). Checked as each chunk arrives: a wait for the next
    one is bounded by the read timeout already."""

    def __init__(self, response: httpx.Response, deadline: float, seconds: float):
        if not isinstance(response.stream, httpx.SyncByteStream):
            raise TypeError("a synchronous client's response has a synchronous stream")
        self._body = response.stream
        self._request = response.request
        self._deadline = deadline
        self._seconds = seconds

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            if time.monotonic() > self._deadline:
                raise httpx.ReadTimeout(
                    f"the answer was still arriving after the {self._seconds:g}s deadline of one "
                    "request (a body that trickles in)",
                    request=self._request,
                )
            yield chunk

    def close(self) -> None:
        self._body.close()


def _error_fields(body: Any) -> tuple[list[str], str | None, str | None]:
    if not isinstance(body, dict):
        return [], None, None
    errors = body.get("errors")
    messages = [str(e) for e in errors] if isinstance(errors, list) else []
    request_id, code = body.get("request_id"), body.get("code")
    return (
        messages,
        str(request_id) if request_id is not None else None,
        str(code) if code is not None else None,
    )


def _retry_after_seconds(response: httpx.Response, retry: RetrySettings) -> float | None:
    """`Retry-After` as seconds (delta-seconds, decimals accepted, or an HTTP date), capped."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        if not math.isfinite(seconds):  # `nan` would retry at once, `inf` wait the cap
            return None
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), retry.retry_after_max_seconds)
