"""`RequestStats`: what a Pylon client did, counted per endpoint by the layers that saw it."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from pylon_dagster.pylon.budget import Grant

ENDPOINT_EXTENSION = "pylon_dagster.endpoint"
"""The request extension that names a request's endpoint (`Endpoint.key`) for the layers below
the client: the budget takes its slot for it, the stats count under it."""


def endpoint_key(request: httpx.Request) -> str:
    """The endpoint `request` was sent for; a request sent without the extension counts under
    its method and path."""
    key = request.extensions.get(ENDPOINT_EXTENSION)
    return key if isinstance(key, str) else f"{request.method} {request.url.path}"


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
