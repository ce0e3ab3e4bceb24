"""Cursor pagination as Pylon does it: opaque base64 keyset cursors and a `limit` of 1..999.

A cursor encodes the sort key of the last record returned, so a page always starts right after it,
whatever was inserted or changed meanwhile (like Pylon's `created_at|id` cursors).
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pylon_emulator.responses import ApiError

Record = dict[str, Any]
SortKey = tuple[str, ...]
MAX_LIMIT = 999
DEFAULT_LIMIT = 100
_SEPARATOR = "|"


def parse_limit(raw: Any, *, default: int) -> int:
    """`limit` from a query string or a JSON body; outside 1..999 is Pylon's 400."""
    if raw is None:
        return default
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ApiError(400, f"limit must be an integer, got {raw!r}", "invalid_request_body")
    if not 1 <= raw <= MAX_LIMIT:
        raise ApiError(
            400,
            f"limit must be greater than 0 and less than {MAX_LIMIT + 1}, got {raw}",
            "invalid_request_body",
        )
    return raw


def parse_cursor(raw: Any) -> str | None:
    """The cursor a request sent (None or "" for the first page); a non-string is a 400."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise ApiError(400, "cursor must be a string", "invalid_request_body")
    return raw


def encode_cursor(key: SortKey) -> str:
    return base64.b64encode(_SEPARATOR.join(key).encode()).decode()


def decode_cursor(cursor: str) -> SortKey:
    try:
        return tuple(base64.b64decode(cursor, validate=True).decode().split(_SEPARATOR))
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(400, f"invalid cursor {cursor!r}", "invalid_request_body") from None


@dataclass(frozen=True)
class Page:
    records: list[Record]
    next_cursor: str | None
    """None on the last page."""


class SortedRecords:
    """Records in keyset order, keys kept alongside for bisecting. Immutable once built."""

    def __init__(self, records: Iterable[Record], key: Callable[[Record], SortKey]):
        pairs = sorted(((key(record), record) for record in records), key=lambda pair: pair[0])
        self.keys = [sort_key for sort_key, _ in pairs]
        self.records = [record for _, record in pairs]

    def page(
        self, cursor: str | None, limit: int, matches: Callable[[Record], bool] | None = None
    ) -> Page:
        """Up to `limit` matching records after `cursor`; `next_cursor` only if more match."""
        start = bisect_right(self.keys, decode_cursor(cursor)) if cursor else 0
        found: list[Record] = []
        last_index = start
        for index in range(start, len(self.records)):
            record = self.records[index]
            if matches is not None and not matches(record):
                continue
            if len(found) == limit:
                return Page(found, encode_cursor(self.keys[last_index]))
            found.append(record)
            last_index = index
        return Page(found, None)
