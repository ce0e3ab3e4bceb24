"""Settings read from the environment, checked before any data is touched.

Every mistake raises `ConfigError` naming the variable and showing a valid value.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pylon_dagster.pylon.budget import RateLimitConfig
from pylon_dagster.state import state_dir

START_DATE_VAR = "PYLON_START_DATE"
DEFAULT_LOOKBACK = timedelta(days=30)


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and what a valid value is."""


def parse_start_date(raw: str, *, today: date) -> date:
    """`2024-01-01` or `2024-01-01T00:00:00Z` (the seed connector's format), not in the future."""
    text = raw.strip()
    try:
        parsed = (
            datetime.fromisoformat(text).astimezone(UTC).date()
            if "T" in text
            else date.fromisoformat(text)
        )
    except ValueError:
        raise ConfigError(
            f"{START_DATE_VAR}={raw!r} is not a date. Use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, "
            "e.g. 2024-01-01 or 2024-01-01T00:00:00Z."
        ) from None
    if parsed > today:
        raise ConfigError(
            f"{START_DATE_VAR}={raw!r} is in the future (today is {today.isoformat()} UTC). "
            "Use the first day whose issues you want, e.g. 2024-01-01."
        )
    return parsed


def start_date(*, today: date | None = None, anchor_file: Path | None = None) -> date:
    """The first day of the `issues` partitions.

    `PYLON_START_DATE` when set. Otherwise 30 days before the first time this project ran here,
    remembered in the state folder: a start computed afresh on every load would move every day,
    and Dagster would see partitions appear and vanish.
    """
    today = today or datetime.now(UTC).date()
    raw = os.environ.get(START_DATE_VAR, "").strip()
    if raw:
        return parse_start_date(raw, today=today)
    anchor_file = anchor_file or state_dir() / "default_start_date"
    if anchor_file.exists():
        return parse_start_date(anchor_file.read_text(), today=today)
    anchor = today - DEFAULT_LOOKBACK
    anchor_file.parent.mkdir(parents=True, exist_ok=True)
    anchor_file.write_text(anchor.isoformat())
    return anchor


API_URL_VAR = "PYLON_API_URL"
RATE_LIMITS_VAR = "PYLON_RATE_LIMITS"
RATE_WINDOW_VAR = "PYLON_RATE_LIMIT_WINDOW_SECONDS"
BACKFILL_SHARE_VAR = "PYLON_BACKFILL_SHARE"


def api_url(default: str) -> str:
    """`PYLON_API_URL`: an http(s) URL such as https://api.usepylon.com."""
    raw = os.environ.get(API_URL_VAR, "").strip() or default
    parsed = urlsplit(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"{API_URL_VAR}={raw!r} is not an http(s) URL. Use https://api.usepylon.com, "
            "https://api.eu.usepylon.com or the emulator's URL, e.g. http://127.0.0.1:8765."
        )
    return raw.rstrip("/")


def rate_limits() -> str:
    """`PYLON_RATE_LIMITS`: `auto` (default), a preset, or per-endpoint overrides."""
    raw = os.environ.get(RATE_LIMITS_VAR, "").strip() or "auto"
    try:
        RateLimitConfig.parse(raw)
    except ValueError as error:
        raise ConfigError(f"{RATE_LIMITS_VAR}={raw!r}: {error}") from None
    return raw


def backfill_share() -> float:
    """`PYLON_BACKFILL_SHARE`: the share of the budget bulk work keeps while freshness work waits."""
    raw = os.environ.get(BACKFILL_SHARE_VAR, "").strip() or "0.5"
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise ConfigError(
            f"{BACKFILL_SHARE_VAR}={raw!r} must be a number above 0 and at most 1, e.g. 0.5: the "
            "share of each endpoint's budget a backfill keeps while freshness runs wait."
        )
    return value


def rate_limit_window_seconds() -> float:
    """`PYLON_RATE_LIMIT_WINDOW_SECONDS`: the length of a rate-limit minute (60 against Pylon)."""
    raw = os.environ.get(RATE_WINDOW_VAR, "").strip() or "60"
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise ConfigError(
            f"{RATE_WINDOW_VAR}={raw!r} must be a positive number of seconds: 60 against Pylon, "
            "less only against a time-scaled emulator (e.g. 2)."
        )
    return value
