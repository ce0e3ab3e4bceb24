"""Rate-limit response headers, whatever spelling the server uses.

Pylon documents `X-RateLimit-...` style headers without naming them all, so every common variant is
read: `X-RateLimit-*`, `X-Rate-Limit-*`, the IETF draft's `RateLimit-*` fields, and its structured
`RateLimit: limit=20, remaining=3, reset=12` / `RateLimit-Policy: 20;w=60` forms. A reset is
delta-seconds, or a Unix timestamp (seconds or milliseconds) when it is too large to be a delay; the
budget never pauses longer than one window on the strength of it.

The figures are bounded: every process on every host sharing the budget believes them. A policy
whose window is under `MIN_WINDOW_SECONDS` or over `MAX_WINDOW_SECONDS` (`300;w=0.000001` would
mean 1.8e10 requests a minute) is ignored whole, and so is a limit above `MAX_LIMIT`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

_PREFIXES = ("x-ratelimit-", "x-rate-limit-", "ratelimit-")
_UNIX_TIME_THRESHOLD = 1_000_000_000
_NUMBER = r"(\d+(?:\.\d+)?)"
MIN_WINDOW_SECONDS = 1.0
MAX_WINDOW_SECONDS = 86_400.0
MAX_LIMIT = 1_000_000
"""More requests per window than any API announces: a bigger figure is a broken header."""


@dataclass(frozen=True)
class RateLimitHeaders:
    """What a response said about its endpoint's budget; None where it said nothing."""

    limit: int | None = None
    remaining: int | None = None
    reset_seconds: float | None = None
    window_seconds: float | None = None
    """The window the limit counts in, when the server names it (`RateLimit-Policy: 20;w=60`)."""

    @property
    def said_anything(self) -> bool:
        return self.limit is not None or self.remaining is not None


def parse_rate_limit_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> RateLimitHeaders:
    """The limit, remaining requests and seconds until reset that `headers` announce."""
    lowered = {name.lower(): value for name, value in headers.items()}
    limit = _first_number(lowered, "limit")
    remaining = _first_number(lowered, "remaining")
    reset = _first_number(lowered, "reset")
    structured = lowered.get("ratelimit", "")
    limit = limit if limit is not None else _field(structured, "limit")
    remaining = remaining if remaining is not None else _field(structured, "remaining")
    reset = reset if reset is not None else _field(structured, "reset")
    policy = lowered.get("ratelimit-policy", "").split(",")[0]
    window = _field(policy, "w")
    if window is not None and not MIN_WINDOW_SECONDS <= window <= MAX_WINDOW_SECONDS:
        policy, window = "", None
    if limit is None and (quota := re.match(_NUMBER, policy.strip())):
        limit = float(quota.group(1))
    if reset is not None and reset > _UNIX_TIME_THRESHOLD:
        if reset > _UNIX_TIME_THRESHOLD * 1000:
            reset /= 1000  # a Unix time in milliseconds
        reset = reset - (time.time() if now is None else now)
    return RateLimitHeaders(
        limit=int(limit) if limit is not None and 1 <= limit <= MAX_LIMIT else None,
        remaining=int(remaining) if remaining is not None and remaining >= 0 else None,
        reset_seconds=max(reset, 0.0) if reset is not None else None,
        window_seconds=window if window else None,
    )


def _first_number(headers: Mapping[str, str], suffix: str) -> float | None:
    for prefix in _PREFIXES:
        if (value := headers.get(prefix + suffix)) is not None:
            # A comma-separated list (several policies) starts with the one that applies now.
            match = re.match(_NUMBER, value.split(",")[0].strip())
            if match:
                return float(match.group(1))
    return None


def _field(structured: str, name: str) -> float | None:
    match = re.search(rf"(?:^|[,;\s]){name}\s*=\s*{_NUMBER}", structured)
    return float(match.group(1)) if match else None
