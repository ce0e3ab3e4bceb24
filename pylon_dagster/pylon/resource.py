"""`PylonResource`: the Dagster resource every Pylon-reading asset and sensor uses."""

from __future__ import annotations

import hashlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from pylon_dagster.catalog.rate_limits import RateLimitConfig
from pylon_dagster.dagster_adapter import interrupt_requested, on_stop_request
from pylon_dagster.progress.lines import PeriodicLines
from pylon_dagster.progress.relay import PROCESS_RELAY, WINDOW_TAG
from pylon_dagster.progress.sink import NO_PROGRESS, ProgressFanOut, ProgressSink
from pylon_dagster.pylon.budget import Priority
from pylon_dagster.pylon.budget_postgres import PostgresRateBudget
from pylon_dagster.pylon.client import (
    MAX_PAGE_SIZE,
    REQUEST_DEADLINE_SECONDS,
    PylonClient,
    RetrySettings,
)
from pylon_dagster.settings import (
    DEFAULT_API_URL,
    DEFAULT_BACKFILL_SHARE,
    DEFAULT_PROGRESS_INTERVAL_SECONDS,
    DEFAULT_RATE_LIMITS,
    DEFAULT_RATE_WINDOW_SECONDS,
)
from pylon_dagster.warehouse import PostgresWarehouse

PRIORITY_TAG = "pylon_dagster/priority"
"""Run tag that sets a run's priority on Pylon's budget explicitly: `freshness` or `bulk`."""
INTERRUPT_POLL_SECONDS = 0.25
STOPPING_MESSAGE = "Stopping: the Pylon requests in flight finish, no new one starts."
_FRESHNESS_TAGS = ("dagster/schedule_name", "dagster/sensor_name")
_BACKFILL_TAG = "dagster/backfill"


def priority_for_run(tags: dict[str, str]) -> Priority:
    """Backfills are bulk work; runs started by schedules and sensors keep things fresh.

    An explicit `pylon_dagster/priority` tag wins; anything else (a manual materialization, the
    headless sync) is bulk work.
    """
    if explicit := tags.get(PRIORITY_TAG):
        return Priority(explicit)
    if _BACKFILL_TAG in tags:
        return Priority.BULK
    if any(tag in tags for tag in _FRESHNESS_TAGS):
        return Priority.FRESHNESS
    return Priority.BULK


def api_host(base_url: str) -> str:
    """The budget's name for an API host: scheme, host and path, never credentials."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def organization_key(base_url: str, api_token: str) -> str:
    """The budget's name for one organization: Pylon counts requests per organization, and a
    token belongs to one, so the API host and a fingerprint of the token. Two syncs of one
    organization share a budget; two organizations on one host never do. The fingerprint is a
    truncated hash (64 bits), which tells tokens apart and cannot give the token back."""
    digest = hashlib.sha256(f"pylon-dagster rate budget\0{api_token}".encode()).hexdigest()
    return f"{api_host(base_url)}#{digest[:16]}"


class PylonResource(dg.ConfigurableResource):
    """Pylon's REST API over httpx: one shared rate budget, retried with backoff, paginated lazily.

    The token is read from `PYLON_API_TOKEN` (bind it with `dg.EnvVar`); it is sent only in the
    Authorization header and never logged, raised or shown. The rate budget is kept in the
    warehouse, shared by every process and host that syncs into it.
    """

    api_token: str = Field(repr=False, description="Pylon API token (Settings > API, Admin only).")
    warehouse: PostgresWarehouse
    base_url: str = Field(
        default=DEFAULT_API_URL,
        description="API host: the US host, https://api.eu.usepylon.com, or the local emulator.",
    )
    timeout_seconds: float = Field(default=30.0, description="Read/write timeout per request.")
    connect_timeout_seconds: float = Field(default=10.0)
    request_deadline_seconds: float = Field(
        default=REQUEST_DEADLINE_SECONDS,
        description="Longest one request may take, its whole body included (retried after).",
    )
    max_attempts: int = Field(default=6, description="Attempts per request before giving up.")
    backoff_base_seconds: float = Field(default=1.0)
    backoff_max_seconds: float = Field(default=60.0)
    rate_limits: str = Field(
        default=DEFAULT_RATE_LIMITS,
        description=(
            "Where the per-endpoint rates start: 'auto' (Pylon's newest published limits, then "
            "learned from headers and 429s), a preset ('2026-04', '2026-10'), or overrides such as "
            "'POST /issues/search=20, GET /issues/{id}/messages=20'."
        ),
    )
    rate_limit_window_seconds: float = Field(
        default=DEFAULT_RATE_WINDOW_SECONDS,
        description="Length of a rate-limit minute (shorter only against the emulator).",
    )
    backfill_share: float = Field(
        default=DEFAULT_BACKFILL_SHARE,
        description="Share of an endpoint's budget that bulk work may use while freshness work waits.",
    )
    page_size: int = Field(default=MAX_PAGE_SIZE, description="`limit` sent with list requests.")
    search_window_days: int = Field(
        default=30, description="Longest updated_at window per issue search (Pylon caps it at 30)."
    )
    progress_interval_seconds: float = Field(
        default=DEFAULT_PROGRESS_INTERVAL_SECONDS,
        description="Least time between two progress lines in the run's event log.",
    )
    budget_schema: str | None = Field(
        default=None,
        description="Schema of the warehouse's database keeping the rate budget (default: the "
        "warehouse's schema). Instances syncing one organization into different schemas share "
        "a budget by naming the same one.",
    )
    _run_priority: Priority = PrivateAttr(default=Priority.BULK)
    _stop: threading.Event = PrivateAttr(default_factory=threading.Event)
    _run_log_lines: PeriodicLines | None = PrivateAttr(default=None)
    _progress: ProgressSink = PrivateAttr(default=NO_PROGRESS)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.run
        tags = dict(run.tags) if run else {}
        self._run_priority = priority_for_run(tags)
        sinks: list[ProgressSink] = []
        if run is not None and context.log is not None:
            self._run_log_lines = PeriodicLines(
                context.log.info, interval_seconds=self.progress_interval_seconds
            )
            sinks.append(self._run_log_lines)
        if window := tags.get(WINDOW_TAG):
            sinks.append(PROCESS_RELAY.channel(window))
        self._progress = ProgressFanOut(sinks)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_log_lines is not None:
            self._run_log_lines.flush()

    @property
    def progress(self) -> ProgressSink:
        """Where the assets report their progress: the run's event log, as lines at most every
        `progress_interval_seconds`, and, for a run tagged `WINDOW_TAG`, the listeners of that
        window in this process (the headless sync's display). The Pylon clients of this resource
        report every request there too."""
        return self._progress

    def stop(self) -> None:
        """Make every client of this resource stop at its next wait or request (on interrupt)."""
        if self._stop.is_set():
            return
        self._stop.set()
        # The acknowledgement a person pressing Ctrl-C waits for (inside a Dagster run, stderr
        # goes to the step's compute log).
        print(STOPPING_MESSAGE, file=sys.stderr, flush=True)

    def rate_limit_config(self) -> RateLimitConfig:
        return RateLimitConfig.parse(
            self.rate_limits, window_seconds=self.rate_limit_window_seconds
        )

    def budget(self) -> PostgresRateBudget:
        """The shared budget of this organization, in the warehouse or its `budget_schema`
        (prepared first, once per process: a resource built outside Dagster's execution has not
        been set up)."""
        warehouse = self.warehouse
        if self.budget_schema and self.budget_schema != warehouse.schema_name:
            warehouse = PostgresWarehouse(
                url=warehouse.url, schema_name=self.budget_schema, state_dir=warehouse.state_dir
            )
        warehouse.prepare()
        return PostgresRateBudget(
            warehouse.engine,
            warehouse.schema_name,
            api_host=organization_key(self.base_url, self.api_token),
            config=self.rate_limit_config(),
            bulk_share=self.backfill_share,
            lease_seconds=2 * (self.timeout_seconds + self.connect_timeout_seconds),
        )

    @contextmanager
    def get_client(
        self, *, max_attempts: int | None = None, priority: Priority | None = None
    ) -> Iterator[PylonClient]:
        """A client; `max_attempts` overrides the configured one (e.g. for a quick preflight),
        `priority` the run's (freshness for schedule and sensor runs, else bulk)."""
        client = PylonClient(
            base_url=self.base_url,
            api_token=self.api_token,
            budget=self.budget(),
            priority=priority or self._run_priority,
            retry=RetrySettings(
                max_attempts=max_attempts or self.max_attempts,
                backoff_base_seconds=self.backoff_base_seconds,
                backoff_max_seconds=self.backoff_max_seconds,
            ),
            timeout=httpx.Timeout(self.timeout_seconds, connect=self.connect_timeout_seconds),
            request_deadline=self.request_deadline_seconds,
            page_size=self.page_size,
            search_window=timedelta(days=self.search_window_days),
            stop=self._stop,
            progress=self._progress,
        )
        with client, on_stop_request(self._stop.set), self._stopped_on_interrupt():
            yield client

    @contextmanager
    def _stopped_on_interrupt(self) -> Iterator[None]:
        """While the block runs, a SIGINT or SIGTERM that Dagster holds back stops the clients.

        (Runs in threads are stopped by `request_stop`, which sets `_stop` directly.)"""
        done = threading.Event()

        def watch() -> None:
            while not done.wait(INTERRUPT_POLL_SECONDS):
                if interrupt_requested():
                    self.stop()
                    return

        watcher = threading.Thread(target=watch, name="pylon-stop-watch", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
