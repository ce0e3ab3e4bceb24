"""Where each endpoint's rate budget starts: Pylon's published limits or configured figures.

`RateLimitConfig.parse` reads `PYLON_RATE_LIMITS`'s value: `auto` (Pylon's newest published limits,
`endpoints.RATE_LIMITS_PER_MINUTE`), a preset's name, or per-endpoint numbers. The settings parse it
once; the budget (`pylon/budget.py`) starts from the result and learns from there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pylon_dagster.catalog.endpoints import LATEST_API_VERSION, RATE_LIMITS_PER_MINUTE, ApiVersion


@dataclass(frozen=True)
class RateLimitConfig:
    """Per-endpoint starting limits (requests per window) and where they came from."""

    limits: Mapping[str, int]
    source: str
    window_seconds: float = 60.0

    @classmethod
    def parse(cls, raw: str, *, window_seconds: float = 60.0) -> RateLimitConfig:
        """`''`/`auto` (newest published), a preset (`2026-04`), or `KEY=N, KEY=N` overrides.

        Raises `ValueError` with a message that says what a valid value looks like.
        """
        text = raw.strip()
        latest = RATE_LIMITS_PER_MINUTE[LATEST_API_VERSION]
        if text in ("", "auto"):
            return cls(latest, f"published {LATEST_API_VERSION}", window_seconds)
        if text in RATE_LIMITS_PER_MINUTE:
            preset: ApiVersion = text  # type: ignore[assignment]
            return cls(RATE_LIMITS_PER_MINUTE[preset], f"preset {text}", window_seconds)
        overrides: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, number = item.rpartition("=")
            key = " ".join(key.split())
            if not sep or key not in latest or not re.fullmatch(r"[1-9]\d{0,5}", number.strip()):
                raise ValueError(
                    f"{item!r} is not ENDPOINT=REQUESTS_PER_MINUTE with a known endpoint, e.g. "
                    "'POST /issues/search=20, GET /issues/{id}/messages=20'; or use auto, "
                    f"{', '.join(RATE_LIMITS_PER_MINUTE)}."
                )
            overrides[key] = int(number)
        return cls({**latest, **overrides}, "configured", window_seconds)
