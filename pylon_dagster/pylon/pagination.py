"""`Pager`: Pylon's cursor-paginated lists, one request per page, over the plain client."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from typing import Any

from pylon_dagster.catalog.endpoints import Endpoint
from pylon_dagster.pylon.errors import PylonPageLimitReached, PylonResponseError
from pylon_dagster.pylon.http_client import PylonHttpClient

Record = dict[str, Any]
MAX_PAGE_SIZE = 999


class Pager:
    """Pages through lists of `page_size` records, at most `max_pages` pages per list."""

    def __init__(
        self, http: PylonHttpClient, *, page_size: int = MAX_PAGE_SIZE, max_pages: int = 100_000
    ):
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        self.http = http
        self.page_size = page_size
        self.max_pages = max_pages

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
            envelope = self.http.send(
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


def _fingerprint(records: list[Record]) -> bytes:
    """A digest of a page's records, to tell a page served again from a new one."""
    return hashlib.blake2b(json.dumps(records).encode(), digest_size=16).digest()
