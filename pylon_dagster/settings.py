"""Settings read from the environment, checked before any data is touched.

Every mistake raises `ConfigError` naming the variable and showing a valid value.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pylon_dagster.dagster_adapter import is_valid_cron
from pylon_dagster.pylon.budget import RateLimitConfig
from pylon_dagster.state import state_dir

START_DATE_VAR = "PYLON_START_DATE"
DEFAULT_LOOKBACK = timedelta(days=30)
EARLIEST_START_DATE = date(2015, 1, 1)


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
    if parsed < EARLIEST_START_DATE:
        raise ConfigError(
            f"{START_DATE_VAR}={raw!r} is before {EARLIEST_START_DATE.isoformat()}: Pylon holds no "
            "issues that old, and every day is a partition. Use the first day whose issues you "
            "want, e.g. 2024-01-01."
        )
    if parsed > today:
        raise ConfigError(
            f"{START_DATE_VAR}={raw!r} is in the future (today is {today.isoformat()} UTC). "
            "Use the first day whose issues you want, e.g. 2024-01-01."
        )
    return parsed


def start_date(*, today: date | None = None, anchor_file: Path | None = None) -> date:
    """The first day of the `issues` partitions.

    `PYLON_START_DATE` when set. Otherwise the default remembered in the state folder by the first
    `pylon-dagster sync` or `demo` run here (`remember_default_start_date`), or, with nothing
    remembered yet, 30 days before today. Reading it never writes anything.
    """
    today = today or datetime.now(UTC).date()
    raw = os.environ.get(START_DATE_VAR, "").strip()
    if raw:
        return parse_start_date(raw, today=today)
    anchor_file = anchor_file or _default_start_file()
    if anchor_file.exists():
        return parse_start_date(anchor_file.read_text(), today=today)
    return today - DEFAULT_LOOKBACK


def remember_default_start_date(
    *, earliest: date | None = None, today: date | None = None, anchor_file: Path | None = None
) -> None:
    """Pin the default start date in the state folder, unless `PYLON_START_DATE` is set.

    A default computed afresh on every load would move every day, and Dagster would see partitions
    appear and vanish; the commands that sync call this once before loading the definitions. The
    first call pins 30 days before today, or `earliest` when given (the demo passes its dataset's
    first day); a later call only moves the pin back to an earlier `earliest`, so partitions may
    be added before the first one but never vanish.
    """
    anchor_file = anchor_file or _default_start_file()
    if os.environ.get(START_DATE_VAR, "").strip():
        return
    if anchor_file.exists():
        pinned = start_date(today=today, anchor_file=anchor_file)
        if earliest is None or earliest >= pinned:
            return
    anchor_file.parent.mkdir(parents=True, exist_ok=True)
    today = today or datetime.now(UTC).date()
    anchor_file.write_text((earliest or today - DEFAULT_LOOKBACK).isoformat())


def _default_start_file() -> Path:
    return state_dir() / "default_start_date"


API_TOKEN_VAR = "PYLON_API_TOKEN"
API_URL_VAR = "PYLON_API_URL"
DEFAULT_API_URL = "https://api.usepylon.com"
RATE_LIMITS_VAR = "PYLON_RATE_LIMITS"
RATE_WINDOW_VAR = "PYLON_RATE_LIMIT_WINDOW_SECONDS"
BACKFILL_SHARE_VAR = "PYLON_BACKFILL_SHARE"


def api_url() -> str:
    """`PYLON_API_URL`: an http(s) URL such as https://api.usepylon.com (the default)."""
    raw = os.environ.get(API_URL_VAR, "").strip() or DEFAULT_API_URL
    parsed = urlsplit(raw)
    if "@" in raw:
        # httpx would turn user:password into Basic auth, replacing the Bearer token.
        raise ConfigError(
            f"{API_URL_VAR} must not carry a user or password (the token goes in "
            f"{API_TOKEN_VAR}). Use https://api.usepylon.com or https://api.eu.usepylon.com."
        )
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"{API_URL_VAR} is not an http(s) URL. Use https://api.usepylon.com, "
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
    return _number(
        BACKFILL_SHARE_VAR,
        "0.5",
        lambda value: 0 < value <= 1,
        "must be a number above 0 and at most 1, e.g. 0.5: the share of each endpoint's budget a "
        "backfill keeps while freshness runs wait.",
    )


def rate_limit_window_seconds() -> float:
    """`PYLON_RATE_LIMIT_WINDOW_SECONDS`: the length of a rate-limit minute (60 against Pylon)."""
    return _number(
        RATE_WINDOW_VAR,
        "60",
        lambda value: 0 < value < math.inf,
        "must be a positive number of seconds: 60 against Pylon, less only against a "
        "time-scaled emulator (e.g. 2).",
    )


def _number(var: str, default: str, valid: Callable[[float], bool], rule: str) -> float:
    """A float setting; NaN and infinities are never `valid` unless the rule says so."""
    raw = os.environ.get(var, "").strip() or default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isnan(value) or not valid(value):
        raise ConfigError(f"{var}={raw!r} {rule}")
    return value


PROGRESS_INTERVAL_VAR = "PYLON_PROGRESS_INTERVAL_SECONDS"


def progress_interval_seconds() -> float:
    """`PYLON_PROGRESS_INTERVAL_SECONDS`: the least time between two progress lines (default 30)
    written to a log (a sync whose output is not a terminal, a run's event log)."""
    return _number(
        PROGRESS_INTERVAL_VAR,
        "30",
        lambda value: 0 <= value <= 86_400,
        "must be a number of seconds from 0 to 86400, e.g. 30: the least time between two "
        "progress lines.",
    )


ISSUE_SENSOR_INTERVAL_VAR = "PYLON_ISSUE_SENSOR_INTERVAL_SECONDS"
DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS = 300


def issue_sensor_interval_seconds() -> int:
    """`PYLON_ISSUE_SENSOR_INTERVAL_SECONDS`: how often the issue-updates sensor probes Pylon."""
    raw = os.environ.get(ISSUE_SENSOR_INTERVAL_VAR, "").strip()
    if not raw:
        return DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS
    if not raw.isdigit() or not 1 <= int(raw) <= 86_400:
        raise ConfigError(
            f"{ISSUE_SENSOR_INTERVAL_VAR}={raw!r} must be a whole number of seconds from 1 to "
            f"86400, e.g. {DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS}."
        )
    return int(raw)


WEBHOOK_RETENTION_VAR = "PYLON_WEBHOOK_RETENTION_DAYS"


def webhook_retention() -> timedelta:
    """`PYLON_WEBHOOK_RETENTION_DAYS`: how long processed webhook events are kept (default 7)."""
    days = _number(
        WEBHOOK_RETENTION_VAR,
        "7",
        lambda value: 1 <= value <= 3650,
        "must be a number of days from 1 to 3650, e.g. 7: processed webhook events older than "
        "that are deleted.",
    )
    return timedelta(days=days)


def cron(var: str, default: str) -> str:
    """A cron schedule from `var` (five fields, UTC), or `default` when unset."""
    raw = " ".join(os.environ.get(var, "").split()) or default
    if not is_valid_cron(raw):
        raise ConfigError(
            f"{var}={raw!r} is not a cron schedule. Use five fields (minute hour day month "
            f"weekday, UTC), e.g. {default!r}."
        )
    return raw


def check_all() -> None:
    """Every setting, checked at once when the code location loads: a mistake is one `ConfigError`
    before anything runs, not a failure in the middle of a run or a sensor tick."""
    start_date()
    api_url()
    rate_limits()
    rate_limit_window_seconds()
    backfill_share()
    progress_interval_seconds()
    issue_sensor_interval_seconds()
    webhook_retention()
