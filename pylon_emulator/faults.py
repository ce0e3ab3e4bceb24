"""Fault switches: how the emulator misbehaves on purpose, deterministically.

Random faults draw from one `random.Random(seed)`, re-seeded each time the faults are configured,
in a fixed order per request: the same requests in the same order meet the same faults.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Faults:
    """Every default means "behave like a healthy Pylon"."""

    seed: int = 0
    server_error_rate: float = 0.0
    """Share of requests answered with a 500, 502 or 503."""
    latency_seconds: float = 0.0
    latency_rate: float = 1.0
    """Share of requests delayed by `latency_seconds`."""
    drop_rate: float = 0.0
    """Share of requests whose connection is closed halfway through the response body."""
    rate_limit_storm: int = 0
    """The next N requests get a 429, whatever their endpoint's budget (counts down)."""
    storm_retry_after: float | None = 1.0
    """`Retry-After` seconds sent with storm 429s; None sends no header (`true` means 1.0)."""
    malformed_rate: float = 0.0
    """Share of 200s whose body is cut-off JSON or an HTML page."""
    endless_cursor: bool = False
    """Paginated answers always claim a next page and repeat the cursor they were sent."""
    search_window_cap_days: float | None = None
    """Searches whose `updated_at` range spans more than this many days get a 400."""
    search_result_cap: int | None = None
    """A search lists at most this many issues, then claims there is no next page: a listing
    silently cut short."""
    child_404_for: frozenset[str] = frozenset()
    """Issue ids whose messages and threads answer 404, as if deleted after the search."""
    echo_authorization: bool = False
    """Every 4xx a handler answers quotes the request's Authorization header, as a careless
    upstream or proxy does."""
    echo_authorization_in_2xx: bool = False
    """Every 200 quotes the request's Authorization header in its `request_id`."""
    echo_upper_case: bool = False
    """The echoes above quote the header in upper case."""
    malformed_data: bool = False
    """Paginated answers carry a `data` object instead of the list of records."""
    served_without_id: frozenset[str] = frozenset()
    """Records of any stream with these ids are served without their `id` field."""
    deep_nesting: int = 0
    """When positive, every 200's `data` is an array nested this many levels deep."""
    trickle_seconds: float = 0.0
    """When positive, every 200 sends one space every this many seconds and never its body."""
    extra_headers: dict[str, str] = field(default_factory=dict)
    """Headers set verbatim on every answer of a Pylon route, e.g. `{"Retry-After": "nan"}`."""
    fresh_endless_cursor: bool = False
    """Paginated answers always claim a next page, under a cursor never sent before."""
    redirect_to: str | None = None
    """Every Pylon route answers `307 Temporary Redirect` to this URL."""

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "child_404_for": sorted(self.child_404_for),
            "served_without_id": sorted(self.served_without_id),
        }


@dataclass(frozen=True)
class RequestFaults:
    """The faults one request meets, drawn when it arrives."""

    settings: Faults
    storm: bool = False
    delay_seconds: float = 0.0
    server_error_status: int | None = None
    drop: bool = False
    malformed: bool = False
    truncated: bool = False
    """For a malformed body: cut-off JSON (True) or an HTML page (False)."""


def _probability(name: str, value: Any) -> float:
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return number


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return value


def _seed(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


def _switch(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value


def _optional_retry_after(name: str, value: Any) -> float | None:
    if value is None or value is False:
        return None
    if value is True:
        return 1.0
    return _number(name, value)


def _optional_days(name: str, value: Any) -> float | None:
    if value is None:
        return None
    days = _number(name, value)
    if days == 0:
        raise ValueError(f"{name} must be positive or null, got {value!r}")
    return days


def _optional_count(name: str, value: Any) -> int | None:
    return None if value is None else _count(name, value)


def _ids(name: str, value: Any) -> frozenset[str]:
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{name} must be a list of ids, got {value!r}")
    return frozenset(value)


def _headers(name: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{name} must map header names to values, got {value!r}")
    return dict(value)


def _optional_url(name: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a URL or null, got {value!r}")
    return value


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "seed": _seed,
    "server_error_rate": _probability,
    "latency_seconds": _number,
    "latency_rate": _probability,
    "drop_rate": _probability,
    "rate_limit_storm": _count,
    "storm_retry_after": _optional_retry_after,
    "malformed_rate": _probability,
    "endless_cursor": _switch,
    "search_window_cap_days": _optional_days,
    "search_result_cap": _optional_count,
    "child_404_for": _ids,
    "echo_authorization": _switch,
    "served_without_id": _ids,
    "deep_nesting": _count,
    "trickle_seconds": _number,
    "extra_headers": _headers,
    "fresh_endless_cursor": _switch,
    "redirect_to": _optional_url,
    "echo_authorization_in_2xx": _switch,
    "echo_upper_case": _switch,
    "malformed_data": _switch,
}


def validated_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Check and normalise fault changes (from Python or JSON); raises ValueError."""
    unknown = set(changes) - set(_VALIDATORS)
    if unknown:
        raise ValueError(
            f"unknown fault(s) {', '.join(sorted(unknown))}; known: {', '.join(_VALIDATORS)}"
        )
    return {name: _VALIDATORS[name](name, value) for name, value in changes.items()}


class FaultInjector:
    """Holds the current `Faults` and draws each request's share of them. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._settings = Faults()
        self._rng = random.Random(self._settings.seed)

    @property
    def settings(self) -> Faults:
        with self._lock:
            return self._settings

    def configure(self, changes: Mapping[str, Any]) -> Faults:
        """Apply changes on top of the current faults and restart the random sequence."""
        normalised = validated_changes(changes)
        with self._lock:
            self._settings = replace(self._settings, **normalised)
            self._rng = random.Random(self._settings.seed)
            return self._settings

    def clear(self) -> Faults:
        with self._lock:
            self._settings = Faults()
            self._rng = random.Random(self._settings.seed)
            return self._settings

    def draw(self) -> RequestFaults:
        with self._lock:
            settings = self._settings
            if settings.rate_limit_storm:
                self._settings = replace(settings, rate_limit_storm=settings.rate_limit_storm - 1)
                return RequestFaults(settings, storm=True)
            delayed = settings.latency_seconds > 0 and self._hit(settings.latency_rate)
            server_error = self._hit(settings.server_error_rate)
            status = self._rng.choice((500, 502, 503)) if server_error else None
            drop = not server_error and self._hit(settings.drop_rate)
            malformed = not (server_error or drop) and self._hit(settings.malformed_rate)
            return RequestFaults(
                settings,
                delay_seconds=settings.latency_seconds if delayed else 0.0,
                server_error_status=status,
                drop=drop,
                malformed=malformed,
                truncated=malformed and self._rng.random() < 0.5,
            )

    def _hit(self, probability: float) -> bool:
        """One draw, skipped entirely when the fault is off so it does not shift other faults."""
        return probability > 0 and self._rng.random() < probability
