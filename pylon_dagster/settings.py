"""`Settings`: every setting the project reads from the environment, checked at once.

`Settings.from_env(environ)` is called at the edges only: the code location's `defs()`, the CLI
commands and the web service's app factory. They pass the object down to the factories that build
assets, schedules, sensors and resources; no other code reads the environment, and importing a
module reads nothing. Every mistake raises `ConfigError` naming the variable and showing a valid
value, before any data is touched.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from pylon_dagster.catalog.rate_limits import RateLimitConfig
from pylon_dagster.catalog.streams import STREAMS, Stream
from pylon_dagster.catalog.tablespec import is_plain_name
from pylon_dagster.dagster_adapter import is_valid_cron
from pylon_dagster.redaction import is_header_safe

STATE_DIR_VAR = "PYLON_DAGSTER_STATE"
DEFAULT_STATE_DIR = ".state"
"""The state folder when `PYLON_DAGSTER_STATE` is unset, in the current directory (the project
root when run through the README commands or `dagster dev`)."""
START_DATE_VAR = "PYLON_START_DATE"
DEFAULT_LOOKBACK = timedelta(days=30)
EARLIEST_START_DATE = date(2015, 1, 1)
API_TOKEN_VAR = "PYLON_API_TOKEN"
API_URL_VAR = "PYLON_API_URL"
DEFAULT_API_URL = "https://api.usepylon.com"
RATE_LIMITS_VAR = "PYLON_RATE_LIMITS"
DEFAULT_RATE_LIMITS = "auto"
RATE_WINDOW_VAR = "PYLON_RATE_LIMIT_WINDOW_SECONDS"
DEFAULT_RATE_WINDOW_SECONDS = 60.0
MIN_RATE_WINDOW_SECONDS = 0.1
"""A shorter "minute" paces nothing: the budget's own round trips take about that long."""
MAX_RATE_WINDOW_SECONDS = 3600.0
"""An hour-long "minute" is already no rate limit; far longer ones overflow the budget's times."""
BACKFILL_SHARE_VAR = "PYLON_BACKFILL_SHARE"
DEFAULT_BACKFILL_SHARE = 0.5
PROGRESS_INTERVAL_VAR = "PYLON_PROGRESS_INTERVAL_SECONDS"
DEFAULT_PROGRESS_INTERVAL_SECONDS = 30.0
ISSUE_SENSOR_INTERVAL_VAR = "PYLON_ISSUE_SENSOR_INTERVAL_SECONDS"
DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS = 30
WEBHOOK_RETENTION_VAR = "PYLON_WEBHOOK_RETENTION_DAYS"
DEFAULT_WEBHOOK_RETENTION_DAYS = 7.0
ISSUES_CRON_VAR = "PYLON_ISSUES_SCHEDULE_CRON"
DEFAULT_ISSUES_CRON = "15 0 * * *"
REFERENCE_CRON_VAR = "PYLON_REFERENCE_SCHEDULE_CRON"
DEFAULT_REFERENCE_CRON = "45 0 * * *"
DELETIONS_CRON_VAR = "PYLON_DELETIONS_SCHEDULE_CRON"
DEFAULT_DELETIONS_CRON = "30 * * * *"
ALERT_WEBHOOK_VAR = "PYLON_ALERT_WEBHOOK_URL"
WAREHOUSE_URL_VAR = "PYLON_WAREHOUSE_URL"
EXAMPLE_WAREHOUSE_URL = "postgresql://pylon:secret@db.example.com:5432/pylon"
WAREHOUSE_DRIVER = "postgresql+psycopg"
_POSTGRES_SCHEMES = ("postgres", "postgresql")
SCHEMA_VAR = "PYLON_WAREHOUSE_SCHEMA"
DEFAULT_SCHEMA = "pylon"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and what a valid value is."""


@dataclass(frozen=True)
class Settings:
    """Every setting of the project, valid. Built once per process by `from_env`.

    The API token stays out of it, and the values that may hold a secret are kept out of `repr`:
    the code location's resources name the token and the warehouse URL as `EnvVar`s, so the
    Dagster UI shows the variables' names, never their values.
    """

    start_date: date
    """The first day of the `issues` partitions."""
    state_dir: Path
    api_url: str
    has_api_token: bool
    rate_limits: str
    rate_limit_window_seconds: float
    backfill_share: float
    progress_interval_seconds: float
    issue_sensor_interval_seconds: int
    webhook_retention: timedelta
    issues_cron: str
    reference_cron: str
    deletions_cron: str
    warehouse_schema: str
    warehouse_url: str | None = field(default=None, repr=False)
    """`PYLON_WAREHOUSE_URL`, password included; None: the embedded Postgres in `state_dir`."""
    alert_webhook_url: str | None = field(default=None, repr=False)
    """A chat webhook URL usually carries a secret of its own."""
    key_prefix: str = "pylon"
    """The first part of every asset key and of the job, schedule, sensor and resource names
    (`namespace.py`): a `PylonComponent` attribute, no variable (the code location's is `pylon`)."""
    budget_schema: str | None = None
    """The schema keeping the rate budget (`PylonResource.budget_schema`); None: the warehouse
    schema. A `PylonComponent` attribute, no variable."""
    streams: frozenset[str] = frozenset(STREAMS)
    """The streams synced (`catalog/streams.py`); the others have no asset, and no job,
    schedule or sensor serves them. A `PylonComponent` attribute, no variable: the code location
    syncs every stream."""
    metrics: bool = True
    """Whether the support metrics (`assets/analytics.py`) are computed. A `PylonComponent`
    attribute, no variable."""
    group_name: str | None = None
    """The one group every asset of the instance is in; None: the groups of the streams and
    the metrics, under the instance's prefix (`namespace.py`). A `PylonComponent` attribute, no
    variable."""

    def included(self, streams: Iterable[Stream]) -> list[Stream]:
        """Those of `streams` this instance syncs (`streams`)."""
        return [stream for stream in streams if stream.name in self.streams]

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, today: date | None = None) -> Settings:
        """Read and check every setting of `environ`; `today` (UTC) bounds the start date."""
        return cls(
            start_date=start_date(environ, today=today),
            state_dir=state_dir(environ),
            api_url=api_url(environ),
            has_api_token=has_api_token(environ),
            rate_limits=rate_limits(environ),
            rate_limit_window_seconds=rate_limit_window_seconds(environ),
            backfill_share=backfill_share(environ),
            progress_interval_seconds=progress_interval_seconds(environ),
            issue_sensor_interval_seconds=issue_sensor_interval_seconds(environ),
            webhook_retention=webhook_retention(environ),
            issues_cron=cron(environ, ISSUES_CRON_VAR, DEFAULT_ISSUES_CRON),
            reference_cron=cron(environ, REFERENCE_CRON_VAR, DEFAULT_REFERENCE_CRON),
            deletions_cron=cron(environ, DELETIONS_CRON_VAR, DEFAULT_DELETIONS_CRON),
            warehouse_schema=schema_name(_text(environ, SCHEMA_VAR) or DEFAULT_SCHEMA),
            warehouse_url=warehouse_url(environ),
            alert_webhook_url=_text(environ, ALERT_WEBHOOK_VAR) or None,
        )


def state_dir(environ: Mapping[str, str]) -> Path:
    """The local state folder (embedded Postgres data, the Dagster instance, remembered defaults)
    `environ` names; not created here: whatever writes into it creates it."""
    return Path(environ.get(STATE_DIR_VAR) or Path.cwd() / DEFAULT_STATE_DIR).resolve()


def _text(environ: Mapping[str, str], var: str) -> str:
    return environ.get(var, "").strip()


def warehouse_url(environ: Mapping[str, str]) -> str | None:
    """`PYLON_WAREHOUSE_URL` as given, once `parse_warehouse_url` accepts it; None when unset."""
    raw = _text(environ, WAREHOUSE_URL_VAR)
    if not raw:
        return None
    parse_warehouse_url(raw)
    return raw


def parse_warehouse_url(raw: str) -> sa.URL:
    """A Postgres URL for our driver. `postgres://` and `postgresql://` mean psycopg 3."""
    try:
        url = sa.make_url(raw.strip())
    except (sa_exc.ArgumentError, ValueError):
        # The parser's message may quote the URL, password included: say what is wrong, not what.
        raise ConfigError(
            f"{WAREHOUSE_URL_VAR} is not a valid database URL. Use postgresql://USER:PASSWORD@"
            f"HOST:PORT/DATABASE, e.g. {EXAMPLE_WAREHOUSE_URL}, or unset it to use the embedded "
            "Postgres."
        ) from None
    if url.get_backend_name() not in _POSTGRES_SCHEMES:
        raise ConfigError(
            f"{WAREHOUSE_URL_VAR} must point at PostgreSQL, not {url.get_backend_name()!r}: "
            f"e.g. {EXAMPLE_WAREHOUSE_URL}, or unset it to use the embedded Postgres."
        )
    return url.set(drivername=WAREHOUSE_DRIVER)


def parse_start_date(raw: str, *, today: date) -> date:
    """`2024-01-01` or `2024-01-01T00:00:00Z` (the seed connector's format), not in the future.

    A time without an offset is UTC, like the partitions: read in the host's time zone, two
    hosts could disagree on the first partition."""
    text = raw.strip()
    try:
        parsed = (
            _as_utc(datetime.fromisoformat(text)).date()
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


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def start_date(environ: Mapping[str, str], *, today: date | None = None) -> date:
    """The first day of the `issues` partitions.

    `PYLON_START_DATE` when set. Otherwise the default remembered in the state folder by the first
    `pylon-dagster sync` or `demo` run here (`remember_default_start_date`), or, with nothing
    remembered yet, 30 days before today. Reading it never writes anything.
    """
    today = today or datetime.now(UTC).date()
    if raw := _text(environ, START_DATE_VAR):
        return parse_start_date(raw, today=today)
    anchor_file = _default_start_file(environ)
    if anchor_file.exists():
        return parse_start_date(anchor_file.read_text(), today=today)
    return today - DEFAULT_LOOKBACK


def remember_default_start_date(
    environ: Mapping[str, str], *, earliest: date | None = None, today: date | None = None
) -> None:
    """Pin the default start date in the state folder, unless `PYLON_START_DATE` is set.

    A default computed afresh on every load would move every day, and Dagster would see partitions
    appear and vanish; the commands that sync call this once before loading the definitions. The
    first call pins 30 days before today, or `earliest` when given (the demo passes its dataset's
    first day); a later call only moves the pin back to an earlier `earliest`, so partitions may
    be added before the first one but never vanish.
    """
    if _text(environ, START_DATE_VAR):
        return
    anchor_file = _default_start_file(environ)
    if anchor_file.exists():
        pinned = start_date(environ, today=today)
        if earliest is None or earliest >= pinned:
            return
    anchor_file.parent.mkdir(parents=True, exist_ok=True)
    today = today or datetime.now(UTC).date()
    anchor_file.write_text((earliest or today - DEFAULT_LOOKBACK).isoformat())


def _default_start_file(environ: Mapping[str, str]) -> Path:
    return state_dir(environ) / "default_start_date"


def has_api_token(environ: Mapping[str, str]) -> bool:
    """Whether `PYLON_API_TOKEN` is set (blank counts as unset).

    The token goes into an HTTP header as it is: whitespace (the trailing newline a file or a
    Kubernetes Secret usually gives), control or non-ASCII characters make httpx refuse the
    header, quoting the token. Such a token is refused here without being echoed, rather than
    trimmed: the resource reads the variable itself (`EnvVar`), so a trimmed copy checked here
    would not be the token sent.
    """
    token = environ.get(API_TOKEN_VAR, "")
    if not token.strip():
        return False
    if not is_header_safe(token):
        raise ConfigError(
            f"{API_TOKEN_VAR} holds whitespace, a control character or a non-ASCII character "
            "(often a trailing newline from a file or a Kubernetes Secret), which no API token "
            f"has. Set it to the token alone, e.g. export {API_TOKEN_VAR}=\"$(tr -d '[:space:]' "
            '< token-file)".'
        )
    return True


def api_url(environ: Mapping[str, str]) -> str:
    """`PYLON_API_URL`: an http(s) URL such as https://api.usepylon.com (the default)."""
    raw = _text(environ, API_URL_VAR) or DEFAULT_API_URL
    parsed = urlsplit(raw)
    if "@" in raw:
        # httpx would turn user:password into Basic auth, replacing the Bearer token.
        raise ConfigError(
            f"{API_URL_VAR} must not carry a user or password (the token goes in "
            f"{API_TOKEN_VAR}). Use https://api.usepylon.com or https://api.eu.usepylon.com."
        )
    if parsed.query or parsed.fragment:
        # httpx would append every request's path after the query, and the value may be a key.
        raise ConfigError(
            f"{API_URL_VAR} must not carry a query string or fragment (the token goes in "
            f"{API_TOKEN_VAR}). Use https://api.usepylon.com or https://api.eu.usepylon.com."
        )
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"{API_URL_VAR} is not an http(s) URL. Use https://api.usepylon.com, "
            "https://api.eu.usepylon.com or the emulator's URL, e.g. http://127.0.0.1:8765."
        )
    return raw.rstrip("/")


def rate_limits(environ: Mapping[str, str]) -> str:
    """`PYLON_RATE_LIMITS`: `auto` (default), a preset, or per-endpoint overrides."""
    raw = _text(environ, RATE_LIMITS_VAR) or DEFAULT_RATE_LIMITS
    try:
        RateLimitConfig.parse(raw)
    except ValueError as error:
        raise ConfigError(f"{RATE_LIMITS_VAR}={raw!r}: {error}") from None
    return raw


def backfill_share(environ: Mapping[str, str]) -> float:
    """`PYLON_BACKFILL_SHARE`: the share of the budget bulk work keeps while freshness work waits."""
    return _number(
        environ,
        BACKFILL_SHARE_VAR,
        DEFAULT_BACKFILL_SHARE,
        lambda value: 0 < value <= 1,
        "must be a number above 0 and at most 1, e.g. 0.5: the share of each endpoint's budget a "
        "backfill keeps while freshness runs wait.",
    )


def rate_limit_window_seconds(environ: Mapping[str, str]) -> float:
    """`PYLON_RATE_LIMIT_WINDOW_SECONDS`: the length of a rate-limit minute (60 against Pylon)."""
    return _number(
        environ,
        RATE_WINDOW_VAR,
        DEFAULT_RATE_WINDOW_SECONDS,
        lambda value: MIN_RATE_WINDOW_SECONDS <= value <= MAX_RATE_WINDOW_SECONDS,
        f"must be a positive number of seconds from {MIN_RATE_WINDOW_SECONDS:g} to "
        f"{MAX_RATE_WINDOW_SECONDS:g}: 60 against Pylon, less only against a time-scaled "
        "emulator (e.g. 2).",
    )


def _number(
    environ: Mapping[str, str],
    var: str,
    default: float,
    valid: Callable[[float], bool],
    rule: str,
) -> float:
    """A float setting; NaN and infinities are never `valid` unless the rule says so."""
    raw = _text(environ, var)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isnan(value) or not valid(value):
        raise ConfigError(f"{var}={raw!r} {rule}")
    return value


def progress_interval_seconds(environ: Mapping[str, str]) -> float:
    """`PYLON_PROGRESS_INTERVAL_SECONDS`: the least time between two progress lines (default 30)
    written to a log (a sync whose output is not a terminal, a run's event log)."""
    return _number(
        environ,
        PROGRESS_INTERVAL_VAR,
        DEFAULT_PROGRESS_INTERVAL_SECONDS,
        lambda value: 0 <= value <= 86_400,
        "must be a number of seconds from 0 to 86400, e.g. 30: the least time between two "
        "progress lines.",
    )


def issue_sensor_interval_seconds(environ: Mapping[str, str]) -> int:
    """`PYLON_ISSUE_SENSOR_INTERVAL_SECONDS`: how often the issue-updates sensor probes Pylon."""
    raw = _text(environ, ISSUE_SENSOR_INTERVAL_VAR)
    if not raw:
        return DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS
    if not raw.isdigit() or not 1 <= int(raw) <= 86_400:
        raise ConfigError(
            f"{ISSUE_SENSOR_INTERVAL_VAR}={raw!r} must be a whole number of seconds from 1 to "
            f"86400, e.g. {DEFAULT_ISSUE_SENSOR_INTERVAL_SECONDS}."
        )
    return int(raw)


def webhook_retention(environ: Mapping[str, str]) -> timedelta:
    """`PYLON_WEBHOOK_RETENTION_DAYS`: how long processed webhook events are kept (default 7)."""
    days = _number(
        environ,
        WEBHOOK_RETENTION_VAR,
        DEFAULT_WEBHOOK_RETENTION_DAYS,
        lambda value: 1 <= value <= 3650,
        "must be a number of days from 1 to 3650, e.g. 7: processed webhook events older than "
        "that are deleted.",
    )
    return timedelta(days=days)


def cron(environ: Mapping[str, str], var: str, default: str) -> str:
    """A cron schedule from `var` (five fields, UTC), or `default` when unset."""
    raw = " ".join(environ.get(var, "").split()) or default
    if not is_valid_cron(raw):
        raise ConfigError(
            f"{var}={raw!r} is not a cron schedule. Use five fields (minute hour day month "
            f"weekday, UTC), e.g. {default!r}."
        )
    return raw


def schema_name(name: str) -> str:
    """A plain lower-case name of a schema of our own: not Postgres' system schemas."""
    if not is_plain_name(name) or name.startswith("pg_") or name == "information_schema":
        raise ConfigError(
            f"{SCHEMA_VAR}={name!r} is not a plain lower-case Postgres name of a schema of "
            f"its own (letters, digits, underscores; at most 63; not pg_* or "
            f"information_schema), e.g. {DEFAULT_SCHEMA}."
        )
    return name
