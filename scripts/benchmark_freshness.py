#!/usr/bin/env python3
"""How long a change made in Pylon takes to reach Postgres ("change -> row"), deployment-like.

Starts, in a temporary state folder (its own embedded Postgres and Dagster instance, the project's
`dagster.yaml` through `pylon_dagster.instance.dagster_home()`), with the default settings:

  - the Pylon emulator (`pylon-dagster emulator`, time-scaled, issues spread over a year,
    `PYLON_START_DATE` a year back), then a first `pylon-dagster sync` of the last 30 days and the
    reference streams, as the demo does;
  - the web service (`pylon-dagster app`) with a webhook secret;
  - `dagster dev` (webserver and daemon, every sensor and schedule on) on the project's
    `workspace.yaml`.

Then, per scenario, changes one issue at a time through the emulator's control API (a new state and
title, so its `updated_at` moves), each after a random gap of 2 to 12 s (seeded), without waiting
for the previous one to land, and polls `<schema>.issues` every 100 ms until the issue's row shows
the new `updated_at` (a change still missing after --timeout seconds is a miss):

  (a) signed webhooks: each change is followed by a signed Pylon-like webhook naming the issue,
      POSTed to the web service                                       (target: p95 < 15 s)
  (b) polling only: no webhooks, the issue-updates sensor's default probe finds the changes
                                                                      (target: p95 < 60 s)
  (c) as (a), while a backfill of `issues`, `issue_messages` and `issue_threads` over the year
      before today runs (launched through the webserver's GraphQL API, as the UI does; its
      child fetches hold the budget)                                  (target: p95 < 20 s)

Prints per scenario: p50 / p95 / max of change -> row (a miss ranks above every time), misses, the
1-minute load average at start and end, what launched the runs that wrote the rows (a sensor, the
backfill), the share of its rate the busiest Pylon endpoint used while changes were made, and the
mean time from the change to each phase: webhook stored, run created (the run storage's create
time), run started, `issues` step started, row written (seen by the poll), and the run's
`issue_messages` and `issue_threads` materialized. The run that wrote a row is the one whose
`issues` step was running at the row's `_synced_at`; the phases are read from the Dagster instance
of DAGSTER_HOME (`DagsterInstance.get()`, whatever its storage). Last, a summary table.

Scenarios run in the order a, b, c whatever the order asked (the backfill runs until the end).
Notes on reading the figures:
  - (b) waits for the sensor's next probe: with a probe interval longer than --timeout (180 s by
    default), changes made just after a probe are misses; raise --timeout to see their times.
  - (c) the report shows the busiest endpoint's share of its rate while changes were made, and
    says when it stayed under half (then the backfill held run slots and CPU, not the budget).
  - A change can be carried by a run created before it (queued, its `issues` step not started):
    its "run created" phase is then negative, and so may be the mean.

    .venv/bin/python scripts/benchmark_freshness.py                    # a, b, c: 20 changes each
    .venv/bin/python scripts/benchmark_freshness.py --scenarios a --changes 4
    PYTHONPATH=OTHER_CHECKOUT .venv/bin/python scripts/benchmark_freshness.py   # another version

Everything it starts runs in process groups of its own and is stopped at the end (also on Ctrl-C,
SIGTERM or an error), with the embedded Postgres; the temporary folder is removed. Every wait is
bounded. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import httpx
import psutil
import sqlalchemy as sa

from pylon_dagster.assets.common import asset_key
from pylon_dagster.assets.issue_children import CHILD_STREAMS
from pylon_dagster.assets.issues import ISSUES
from pylon_dagster.instance import dagster_home
from pylon_dagster.settings import Settings
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.embedded import EMBEDDED_DIR, stop_embedded_server
from pylon_dagster.warehouse.sql import qualified
from pylon_dagster.webapp.app import SIGNATURE_HEADER, WEBHOOK_PATH
from pylon_dagster.webapp.settings import WEBHOOK_SECRET_VAR
from pylon_dagster.webapp.signatures import sign
from pylon_emulator import DEMO_TOKEN

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    # The tests' `dagster dev` helper is not installed. Last, so that a PYTHONPATH naming another
    # checkout of the project (benchmark_app.py's `--compare-with` way) still comes first.
    sys.path.append(str(REPO_ROOT))

from pylon_dagster_tests.automation.dagster_dev import (  # noqa: E402
    DagsterDev,
    DeadlineExceeded,
    dagster_dev,
    free_port,
    wait_for,
)

PYLON_DAGSTER = str(Path(sys.executable).with_name("pylon-dagster"))
LOCATION = "pylon_dagster"  # the code location of workspace.yaml
ISSUE_UPDATES_SENSOR = "pylon_issue_updates"
DAYS = 365
"""The emulator's issues and the `issues` partitions span this many days before today."""
FIRST_SYNC_DAYS = 30
GAP_SECONDS = (2.0, 12.0)
POLL_SECONDS = 0.1
TARGETS = {"a": 15.0, "b": 60.0, "c": 20.0}
ISSUE_STATES = ("new", "waiting_on_you", "waiting_on_customer", "on_hold", "closed")

STARTUP_SECONDS = 300
SYNC_SECONDS = 1200
QUIET_SECONDS = 300
BACKFILL_START_SECONDS = 300
RUN_END_SECONDS = 300
STOP_SECONDS = 30
HTTP_SECONDS = 30
RUN_LOOKBACK = timedelta(minutes=1)
"""Runs created this long before a scenario's first change may still write one of its rows."""
SLACK_SECONDS = 0.05
T = TypeVar("T")

ISSUES_STEP = ISSUES.to_python_identifier()
CHILD_KEYS = frozenset(asset_key(child.name) for child in CHILD_STREAMS)
ACTIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
BACKFILL_TAG = "dagster/backfill"
STEP_ENDS = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
TIMELINE_EVENTS = {
    dg.DagsterEventType.STEP_START,
    *STEP_ENDS,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
}
PHASES = (
    "webhook stored",
    "run created",
    "run started",
    "issues step started",
    "row written",
    "children done",
)


class BenchmarkError(Exception):
    """Something the benchmark needs did not work; the message says what and where to look."""


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    webhooks: bool
    backfill: bool

    @property
    def target(self) -> float:
        return TARGETS[self.key]


SCENARIOS = {
    "a": Scenario("a", "signed webhooks", webhooks=True, backfill=False),
    "b": Scenario("b", "polling only (the issue-updates sensor)", webhooks=False, backfill=False),
    "c": Scenario("c", "signed webhooks during a 1-year backfill", webhooks=True, backfill=True),
}


@dataclass
class Change:
    """One change of one issue, and when each of its milestones was seen (epoch seconds)."""

    label: str
    """The scenario's letter and the change's number, e.g. `a3`."""
    issue_id: str
    updated_at: datetime
    """The new `updated_at` Pylon gave the issue."""
    changed: float
    deadline: float
    """time.monotonic() after which the change is a miss."""
    stored: float | None = None
    seen: float | None = None
    synced_at: float | None = None
    """The `_synced_at` of the row showing the change: when the writing transaction began."""

    @property
    def latency(self) -> float:
        return math.inf if self.seen is None else self.seen - self.changed


@dataclass(frozen=True)
class RunTimeline:
    run_id: str
    route: str
    """What launched the run: a sensor's name, `backfill`, a schedule, or `other`."""
    created: float
    started: float | None
    step_started: float | None
    step_ended: float | None
    children_done: float | None

    def wrote(self, change: Change) -> bool:
        """Whether this run's `issues` step was running when the change's row was written."""
        if self.step_started is None or change.synced_at is None:
            return False
        step_end = math.inf if self.step_ended is None else self.step_ended
        return self.step_started - SLACK_SECONDS <= change.synced_at <= step_end + SLACK_SECONDS

    def milestones(self) -> dict[str, float | None]:
        return {
            "run created": self.created,
            "run started": self.started,
            "issues step started": self.step_started,
            "children done": self.children_done,
        }


@dataclass
class Report:
    scenario: Scenario
    timeout: float
    changes: list[Change] = field(default_factory=list)
    load_start: float = math.nan
    load_end: float = math.nan
    writers: dict[str, RunTimeline] = field(default_factory=dict)
    """The run that wrote each change's row, by issue id."""
    busiest_endpoint: tuple[str, float, int] | None = None
    """(endpoint, share of its rate used, its per-minute limit)."""
    rate_limited: int = 0
    notes: list[str] = field(default_factory=list)


# -- processes -------------------------------------------------------------------------------------


def log_tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process's whole group, then SIGKILL to whatever is left of it."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_SECONDS)


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    log_path: Path | None = None,
    interval: float = 0.5,
) -> T:
    """The tests' `wait_for`, failing with a `BenchmarkError` that shows the log's tail."""
    try:
        return wait_for(probe, timeout=timeout, what=what, interval=interval)
    except DeadlineExceeded as error:
        tail = f":\n{log_tail(log_path)}" if log_path else ""
        raise BenchmarkError(f"{error}{tail}") from None


class Processes:
    """The programs the benchmark starts, each in a process group (a session) of its own, so that
    stopping one stops everything it started."""

    def __init__(self, stack: ExitStack, workdir: Path):
        self._stack = stack
        self._workdir = workdir
        self.groups: list[int] = []

    def start(
        self, name: str, command: Sequence[str], env: Mapping[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        """Started now, its output in `<name>.log`; its group is stopped when the stack closes."""
        log_path = self._workdir / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                list(command),
                env=dict(os.environ if env is None else env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.adopt(process.pid)
        self._stack.callback(stop_group, process)
        return process, log_path

    def adopt(self, group: int) -> None:
        """A process group started elsewhere, checked at the end like the others."""
        self.groups.append(group)

    def run(self, name: str, command: Sequence[str], timeout: float) -> None:
        """`command` to its end (and its group stopped); raises if it fails or overruns."""
        process, log_path = self.start(name, command)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            stop_group(process)
        if code != 0:
            ending = f"exited with {code}" if code is not None else f"overran {timeout:g} s"
            raise BenchmarkError(f"`{name}` {ending}:\n{log_tail(log_path)}")

    def serving(self, name: str, command: Sequence[str], url: str, env: Mapping[str, str]) -> None:
        """Start a server and wait until `url` answers HTTP (any status)."""
        process, log_path = self.start(name, command, env)

        def answers() -> bool:
            if process.poll() is not None:
                raise BenchmarkError(
                    f"`{name}` exited with {process.returncode}:\n{log_tail(log_path)}"
                )
            try:
                httpx.get(url, timeout=HTTP_SECONDS)
            except httpx.TransportError:
                return False
            return True

        wait_until(answers, timeout=STARTUP_SECONDS, what=name, log_path=log_path, interval=0.2)

    def leftovers(self) -> list[str]:
        """The live (not zombie) processes still in any of the groups."""
        groups = set(self.groups)
        found = []
        for process in psutil.process_iter(["name", "status"]):
            with suppress(psutil.Error, ProcessLookupError):
                if (
                    process.info["status"] != psutil.STATUS_ZOMBIE
                    and os.getpgid(process.pid) in groups
                ):
                    found.append(f"{process.pid} ({process.info['name']})")
        return found


# -- the deployment --------------------------------------------------------------------------------


class Emulator:
    """The emulator's control API (mutations, truth, counters, config)."""

    def __init__(self, url: str):
        self._http = httpx.Client(base_url=url, timeout=HTTP_SECONDS)

    def _data(self, method: str, path: str, body: Any = None) -> Any:
        response = self._http.request(method, f"/_emulator{path}", json=body)
        response.raise_for_status()
        return response.json()["data"]

    def config(self) -> dict[str, Any]:
        return self._data("GET", "/config")

    def counters(self) -> dict[str, Any]:
        return self._data("GET", "/counters")

    def issues(self) -> list[dict[str, Any]]:
        return self._data("GET", "/truth/issues")

    def update_issue(self, issue_id: str, **fields: Any) -> dict[str, Any]:
        body = {"action": "update_issue", "issue_id": issue_id, "fields": fields}
        return self._data("POST", "/mutations", body)

    def close(self) -> None:
        self._http.close()


@dataclass
class Deployment:
    today: date
    emulator: Emulator
    app_url: str
    webhook_secret: str
    dev: DagsterDev
    instance: dg.DagsterInstance
    engine: sa.Engine
    issues_table: str

    def rows(self, issue_ids: Iterable[str]) -> dict[str, tuple[datetime, datetime]]:
        """(updated_at, _synced_at) of the stored rows of these issues."""
        query = sa.text(
            f"SELECT id, updated_at, _synced_at FROM {self.issues_table} WHERE id = ANY(:ids)"
        )
        with self.engine.connect() as connection:
            result = connection.execute(query, {"ids": list(issue_ids)})
            return {row.id: (row.updated_at, row._synced_at) for row in result}

    def send_webhook(self, issue: Mapping[str, Any]) -> None:
        """A signed webhook naming the issue, with the body of the README's trigger template."""
        body = json.dumps(
            {
                "event": "issue_updated",
                "issue_id": issue["id"],
                "issue_number": str(issue["number"]),
                "updated_at": issue["updated_at"],
            }
        ).encode()
        response = httpx.post(
            self.app_url + WEBHOOK_PATH,
            content=body,
            headers={
                SIGNATURE_HEADER: sign(self.webhook_secret, body),
                "content-type": "application/json",
            },
            timeout=HTTP_SECONDS,
        )
        if response.status_code != 200 or response.json().get("stored") is not True:
            raise BenchmarkError(
                f"the web service answered {response.status_code}: {response.text}"
            )

    def runs(self, runs_filter: dg.RunsFilter) -> list[dg.RunRecord]:
        return list(self.instance.get_run_records(runs_filter))

    def active_runs(self) -> list[dg.RunRecord]:
        return self.runs(dg.RunsFilter(statuses=ACTIVE_RUN_STATUSES))


def benchmark_environment(workdir: Path, today: date) -> None:
    """This process's environment, inherited by everything it starts: the default settings (no
    PYLON_* or DAGSTER_* variable from outside), the state folder in `workdir`, partitions from a
    year back, and DAGSTER_HOME as every `pylon-dagster` command sets it."""
    for name in [n for n in os.environ if n.startswith(("PYLON_", "DAGSTER_"))]:
        del os.environ[name]
    os.environ["PYLON_DAGSTER_STATE"] = str(workdir / "state")
    os.environ["PYLON_START_DATE"] = (today - timedelta(days=DAYS)).isoformat()
    home = dagster_home()
    # dagster_home() may add to them (e.g. where Dagster's storage is), never leave them out.
    if (REPO_ROOT / "dagster.yaml").read_text().strip() not in (home / "dagster.yaml").read_text():
        print(f"Note: {home}/dagster.yaml is not the repository's dagster.yaml", file=sys.stderr)


def start_emulator(processes: Processes, args: argparse.Namespace) -> Emulator:
    """The emulator, with the client's settings pointing at it in the environment."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [PYLON_DAGSTER, "emulator", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--seed", str(args.seed), "--issues", str(args.issues), "--days", str(DAYS)]
    command += ["--time-scale", repr(args.time_scale), "--token", DEMO_TOKEN]
    processes.serving("emulator", command, f"{url}/_emulator/config", os.environ)
    emulator = Emulator(url)
    config = emulator.config()
    os.environ.update(
        PYLON_API_URL=url,
        PYLON_API_TOKEN=DEMO_TOKEN,
        # Exact: a client whose minute is shorter than the server's earns 429s.
        PYLON_RATE_LIMIT_WINDOW_SECONDS=repr(config["window_seconds"]),
    )
    print(
        f"emulator: {config['issues']} issues over {DAYS} days, {config['rate_limit_preset']} "
        f"limits, a rate-limit minute of {config['window_seconds']:g} s",
        flush=True,
    )
    return emulator


def start_app(processes: Processes, secret: str) -> str:
    """`pylon-dagster app` accepting webhooks signed with `secret`; its URL."""
    port = free_port()
    command = [PYLON_DAGSTER, "app", "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    processes.serving(
        "app", command, url + WEBHOOK_PATH, {**os.environ, WEBHOOK_SECRET_VAR: secret}
    )
    return url


def start_dagster(stack: ExitStack, processes: Processes, workdir: Path) -> DagsterDev:
    """`dagster dev` on the project's workspace.yaml (copied beside its log), once its code
    location has loaded and the issue-updates sensor has set its cursor (its first tick)."""
    shutil.copy(REPO_ROOT / "workspace.yaml", workdir / "workspace.yaml")
    dev = stack.enter_context(dagster_dev(workdir, os.environ))
    processes.adopt(dev.process.pid)
    for probe, what in (
        (lambda: dev.location_loaded(LOCATION), "dagster dev's code location"),
        (lambda: dev.sensor_ticks(LOCATION, ISSUE_UPDATES_SENSOR), ISSUE_UPDATES_SENSOR),
    ):
        wait_until(probe, timeout=STARTUP_SECONDS, what=what, log_path=dev.log_path)
    return dev


def report_leftovers(processes: Processes, state: Path) -> None:
    left = processes.leftovers()
    if (state / EMBEDDED_DIR / "postmaster.pid").exists():
        left.append("the embedded Postgres")
    if left:
        print(f"Warning: still running after the benchmark: {', '.join(left)}", file=sys.stderr)
    else:
        print("Stopped everything the benchmark started.", file=sys.stderr)


@contextmanager
def deployment(args: argparse.Namespace) -> Iterator[Deployment]:
    """Everything the scenarios need, in a temporary folder; all of it stopped and the folder
    removed on exit, whatever happened."""
    workdir = Path(tempfile.mkdtemp(prefix="pylon-benchmark-freshness-"))
    today = datetime.now(UTC).date()
    began = time.monotonic()
    with ExitStack() as stack:
        # Undone last to first: dagster dev, the app, the emulator, Postgres, the check, the folder.
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        processes = Processes(stack, workdir)
        stack.callback(report_leftovers, processes, workdir / "state")
        benchmark_environment(workdir, today)
        stack.callback(stop_embedded_server, workdir / "state")
        emulator = start_emulator(processes, args)
        stack.callback(emulator.close)
        first_day = today - timedelta(days=FIRST_SYNC_DAYS - 1)
        processes.run(
            "sync", [PYLON_DAGSTER, "sync", "--start", first_day.isoformat()], SYNC_SECONDS
        )
        print(f"first sync ({first_day} to {today}) done after {elapsed(began)}", flush=True)
        settings = Settings.from_env(os.environ)
        warehouse = PostgresWarehouse.from_settings(settings)
        stack.callback(warehouse.engine.dispose)
        secret = secrets.token_hex(16)
        app_url = start_app(processes, secret)
        dev = start_dagster(stack, processes, workdir)
        print(f"web service and dagster dev ready after {elapsed(began)}", flush=True)
        yield Deployment(
            today=today,
            emulator=emulator,
            app_url=app_url,
            webhook_secret=secret,
            dev=dev,
            instance=stack.enter_context(dg.DagsterInstance.get()),
            engine=warehouse.engine,
            issues_table=qualified(settings.warehouse_schema, "issues"),
        )


def elapsed(began: float) -> str:
    return f"{time.monotonic() - began:.0f} s"


# -- a scenario ------------------------------------------------------------------------------------


def make_change(
    deployment: Deployment,
    scenario: Scenario,
    issue: Mapping[str, Any],
    label: str,
    rng: random.Random,
    timeout: float,
) -> Change:
    """A new state and title for the issue in Pylon (so its `updated_at` moves); then, with
    webhooks, the webhook Pylon would send about it."""
    state = rng.choice([s for s in ISSUE_STATES if s != issue.get("state")])
    updated = deployment.emulator.update_issue(
        issue["id"], state=state, title=f"Benchmark change {label}"
    )
    change = Change(
        label=label,
        issue_id=updated["id"],
        updated_at=datetime.fromisoformat(updated["updated_at"]),
        changed=time.time(),
        deadline=time.monotonic() + timeout,
    )
    if scenario.webhooks:
        deployment.send_webhook(updated)
        change.stored = time.time()
    return change


def check_rows(deployment: Deployment, pending: dict[str, Change]) -> None:
    """Move the changes whose row shows their `updated_at` out of `pending`."""
    asked = time.time()  # the query sees what was committed before it started
    for issue_id, (updated_at, synced_at) in deployment.rows(pending).items():
        change = pending[issue_id]
        if updated_at >= change.updated_at:
            change.seen, change.synced_at = asked, synced_at.timestamp()
            del pending[issue_id]
            print(f"    {change.label}: row after {change.latency:.1f} s", flush=True)


def expire(pending: dict[str, Change]) -> None:
    for issue_id, change in list(pending.items()):
        if time.monotonic() > change.deadline:
            del pending[issue_id]
            print(f"    {change.label}: no row in time (a miss)", flush=True)


def measure(
    deployment: Deployment,
    scenario: Scenario,
    issues: Sequence[Mapping[str, Any]],
    rng: random.Random,
    timeout: float,
) -> list[Change]:
    """Change the issues one at a time after random gaps (not waiting for the previous one to
    land), and poll the warehouse until each change shows or times out."""
    plan = [(rng.uniform(*GAP_SECONDS), issue) for issue in issues]
    changes: list[Change] = []
    pending: dict[str, Change] = {}
    next_at = time.monotonic() + plan[0][0]
    while plan or pending:
        if plan and time.monotonic() >= next_at:
            _, issue = plan.pop(0)
            label = f"{scenario.key}{len(changes) + 1}"
            change = make_change(deployment, scenario, issue, label, rng, timeout)
            changes.append(change)
            pending[change.issue_id] = change
            if plan:
                next_at = time.monotonic() + plan[0][0]
        if pending:
            check_rows(deployment, pending)
            expire(pending)
        wait = max(0.0, next_at - time.monotonic()) if plan else POLL_SECONDS
        time.sleep(min(wait, POLL_SECONDS) if pending else wait)
    return changes


# -- what Dagster did ------------------------------------------------------------------------------


def route(tags: Mapping[str, str]) -> str:
    """What launched a run."""
    if BACKFILL_TAG in tags:
        return "backfill"
    if name := tags.get("dagster/sensor_name"):
        return name
    if name := tags.get("dagster/schedule_name"):
        return f"schedule {name}"
    return "other"


def run_timeline(instance: dg.DagsterInstance, record: dg.RunRecord) -> RunTimeline:
    """A run's milestones, from its record and its event log."""
    run = record.dagster_run
    entries = instance.all_logs(run.run_id, of_type=TIMELINE_EVENTS)

    def moments(kinds: set[dg.DagsterEventType], step: str | None = None) -> list[float]:
        return [
            e.timestamp
            for e in entries
            if e.dagster_event_type in kinds and (step is None or e.step_key == step)
        ]

    children = [
        e.timestamp
        for e in entries
        if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        and e.dagster_event is not None
        and e.dagster_event.asset_key in CHILD_KEYS
    ]
    return RunTimeline(
        run_id=run.run_id,
        route=route(run.tags),
        created=record.create_timestamp.timestamp(),
        started=record.start_time,
        step_started=min(moments({dg.DagsterEventType.STEP_START}, ISSUES_STEP), default=None),
        step_ended=max(moments(STEP_ENDS, ISSUES_STEP), default=None),
        children_done=max(children, default=None),
    )


def writers(changes: Iterable[Change], timelines: Iterable[RunTimeline]) -> dict[str, RunTimeline]:
    """By issue id, the run whose `issues` step wrote the change's row (the latest to start, if
    two overlapped)."""
    timelines = list(timelines)
    found = {}
    for change in changes:
        candidates = [t for t in timelines if t.wrote(change)]
        if candidates:
            found[change.issue_id] = max(candidates, key=lambda t: t.step_started or 0.0)
    return found


def find_writers(deployment: Deployment, report: Report, since: float) -> None:
    """The runs that wrote the rows, read once they have ended (their children done)."""
    created_after = datetime.fromtimestamp(since, UTC)
    records = deployment.runs(dg.RunsFilter(created_after=created_after))
    found = writers(report.changes, (run_timeline(deployment.instance, r) for r in records))
    run_ids = sorted({t.run_id for t in found.values()})
    if not run_ids:
        return

    def ended() -> list[dg.RunRecord] | None:
        records = deployment.runs(dg.RunsFilter(run_ids=run_ids))
        return records if all(r.end_time for r in records) else None

    try:
        records = wait_for(ended, timeout=RUN_END_SECONDS, what="the writing runs to end")
    except DeadlineExceeded:
        records = deployment.runs(dg.RunsFilter(run_ids=run_ids))
        report.notes.append(f"some writing runs had not ended after {RUN_END_SECONDS} s")
    report.writers = writers(
        report.changes, (run_timeline(deployment.instance, r) for r in records)
    )
    if all(r.create_timestamp.microsecond == 0 for r in records):
        report.notes.append("the run storage keeps create times to the second")


def phase_offsets(change: Change, run: RunTimeline) -> dict[str, float]:
    """Seconds from the change to each phase it reached."""
    moments = {"webhook stored": change.stored, "row written": change.seen, **run.milestones()}
    return {
        phase: moment - change.changed
        for phase in PHASES
        if (moment := moments.get(phase)) is not None
    }


def mean_phases(report: Report) -> dict[str, float]:
    offsets = [
        phase_offsets(change, report.writers[change.issue_id])
        for change in report.changes
        if change.issue_id in report.writers
    ]
    means = {}
    for phase in PHASES:
        values = [o[phase] for o in offsets if phase in o]
        if values:
            means[phase] = statistics.fmean(values)
    return means


# -- scenarios -------------------------------------------------------------------------------------


def wait_quiet(deployment: Deployment, report: Report) -> None:
    """Until no run is in progress (the previous scenario's tail, the sensors' first runs)."""
    try:
        wait_for(lambda: not deployment.active_runs(), timeout=QUIET_SECONDS, what="quiet")
    except DeadlineExceeded:
        report.notes.append(f"runs were still in progress at the start (after {QUIET_SECONDS} s)")


def start_backfill(deployment: Deployment) -> str:
    """A backfill of `issues` with its messages and threads (one run per 30 days, each fetching
    every child of its window) over the year before today, as the UI launches it, once its first
    run has started."""
    first = deployment.today - timedelta(days=DAYS)
    days = [(first + timedelta(days=n)).isoformat() for n in range(DAYS)]
    children = [asset_key(child.name).path for child in CHILD_STREAMS]
    backfill_id = deployment.dev.launch_asset_backfill(ISSUES.path, days, *children)
    wait_until(
        lambda: any(r.start_time for r in backfill_runs(deployment, backfill_id)),
        timeout=BACKFILL_START_SECONDS,
        what=f"the first run of backfill {backfill_id}",
        log_path=deployment.dev.log_path,
    )
    print(f"  backfill {backfill_id} of {len(days)} days started", flush=True)
    return backfill_id


def backfill_runs(deployment: Deployment, backfill_id: str) -> list[dg.RunRecord]:
    return deployment.runs(dg.RunsFilter(tags={BACKFILL_TAG: backfill_id}))


def backfill_note(deployment: Deployment, backfill_id: str, changes: Sequence[Change]) -> str:
    last = changes[-1].changed
    runs = backfill_runs(deployment, backfill_id)
    running = [r for r in runs if r.start_time and r.start_time <= last <= (r.end_time or last)]
    status = deployment.dev.backfill(backfill_id)["status"]
    return (
        f"backfill: {len(runs)} runs launched, {len(running)} running at the last change, "
        f"status {status} at the end"
    )


def busiest_endpoint(
    config: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any], seconds: float
) -> tuple[str, float, int]:
    """The endpoint whose rate the requests of `seconds` used most: (key, share, limit)."""
    minutes = seconds / config["window_seconds"]
    shares = {
        key: (after["requests"].get(key, 0) - before["requests"].get(key, 0)) / (limit * minutes)
        for key, limit in config["rate_limits"].items()
    }
    key = max(shares, key=lambda k: shares[k])
    return key, shares[key], config["rate_limits"][key]


def run_scenario(
    deployment: Deployment,
    scenario: Scenario,
    issues: Sequence[Mapping[str, Any]],
    rng: random.Random,
    timeout: float,
) -> Report:
    print(f"\n({scenario.key}) {scenario.title}: {len(issues)} changes", flush=True)
    report = Report(scenario, timeout)
    wait_quiet(deployment, report)
    backfill_id = start_backfill(deployment) if scenario.backfill else None
    config = deployment.emulator.config()
    counters = deployment.emulator.counters()
    began, report.load_start = time.time(), os.getloadavg()[0]
    report.changes = measure(deployment, scenario, issues, rng, timeout)
    ended, report.load_end = time.time(), os.getloadavg()[0]
    after = deployment.emulator.counters()
    report.busiest_endpoint = busiest_endpoint(config, counters, after, ended - began)
    report.rate_limited = after["rate_limited"] - counters["rate_limited"]
    if backfill_id is not None:
        report.notes.append(backfill_note(deployment, backfill_id, report.changes))
        if report.busiest_endpoint[1] < 0.5:
            report.notes.append(
                "every endpoint stayed under half of its rate: the backfill held the runs and "
                "the CPU, not the rate budget"
            )
    find_writers(deployment, report, since=began - RUN_LOOKBACK.total_seconds())
    print_report(report)
    return report


# -- output ----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (a miss, inf, ranks above every time)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def seconds(value: float, timeout: float) -> str:
    return f"> {timeout:g} s" if math.isinf(value) else f"{value:.1f} s"


def figures(report: Report) -> tuple[float, float, float, int]:
    """p50, p95, max of change -> row, and the misses."""
    latencies = [change.latency for change in report.changes]
    misses = sum(math.isinf(latency) for latency in latencies)
    p50, p95, worst = (percentile(latencies, share) for share in (0.5, 0.95, 1.0))
    return p50, p95, worst, misses


def print_report(report: Report) -> None:
    scenario, timeout = report.scenario, report.timeout
    p50, p95, worst, misses = figures(report)
    verdict = "met" if p95 < scenario.target else "missed"
    print(
        f"  changes           {len(report.changes)}, {misses} missed (no row within {timeout:g} s)"
    )
    print(
        f"  change -> row     p50 {seconds(p50, timeout)}, p95 {seconds(p95, timeout)}, "
        f"max {seconds(worst, timeout)}   (target p95 < {scenario.target:g} s: {verdict})"
    )
    print(
        f"  load average      {report.load_start:.2f} at start, {report.load_end:.2f} at end "
        f"(1 minute; {os.cpu_count()} cores)"
    )
    routes = Counter(run.route for run in report.writers.values())
    print(f"  rows written by   {', '.join(f'{n} x {r}' for r, n in routes.items()) or '-'}")
    if report.busiest_endpoint:
        key, share, limit = report.busiest_endpoint
        print(
            f"  Pylon budget      busiest endpoint {key} at {share:.0%} of {limit}/min; "
            f"{report.rate_limited} 429s"
        )
    print(
        f"  phases            mean seconds after the change, and (step to step), over the "
        f"{len(report.writers)} of {len(report.changes)} changes traced to the run that wrote them"
    )
    previous = 0.0
    for phase, mean in mean_phases(report).items():
        print(f"    {phase:<22}{mean:7.1f}   ({mean - previous:+.1f})")
        previous = mean
    for note in report.notes:
        print(f"  note: {note}")
    sys.stdout.flush()


def print_summary(reports: Sequence[Report], args: argparse.Namespace) -> None:
    print(
        f"\nchange -> row, {args.changes} changes per scenario, {args.issues} issues, time scale "
        f"{args.time_scale:g}, seed {args.seed}"
    )
    columns = (("p50", 9), ("p95", 9), ("max", 9), ("misses", 8), ("target p95", 15))
    print(f"{'scenario':<44}" + "".join(f"{name:>{width}}" for name, width in columns), end="")
    print("   load average")
    for report in reports:
        p50, p95, worst, misses = figures(report)
        target = report.scenario.target
        cells = [seconds(value, report.timeout) for value in (p50, p95, worst)]
        cells += [str(misses), f"< {target:g} s " + ("met" if p95 < target else "missed")]
        title = f"({report.scenario.key}) {report.scenario.title}"
        row = "".join(f"{cell:>{width}}" for cell, (_, width) in zip(cells, columns, strict=True))
        print(f"{title:<44}{row}   {report.load_start:.2f} -> {report.load_end:.2f}")


# -- main ------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenarios", default="a,b,c", help="comma-separated, of a, b and c (run in that order)"
    )
    parser.add_argument("--changes", type=int, default=20, help="changes per scenario")
    parser.add_argument("--seed", type=int, default=1, help="seeds the data, issues and gaps")
    parser.add_argument(
        "--time-scale", type=float, default=30.0, help="emulator minutes per minute"
    )
    parser.add_argument("--issues", type=int, default=400, help="issues over the year")
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds after which a change is a miss"
    )
    args = parser.parse_args()
    keys = [key.strip() for key in args.scenarios.split(",") if key.strip()]
    unknown = sorted(set(keys) - set(SCENARIOS))
    if unknown or not keys:
        parser.error(f"--scenarios: use a, b and/or c, not {','.join(unknown) or 'nothing'}")
    args.scenarios = [SCENARIOS[key] for key in SCENARIOS if key in keys]
    if args.changes < 1 or args.changes * len(args.scenarios) > args.issues:
        parser.error("--changes must be at least 1, and changes x scenarios at most --issues")
    return args


def run_all(deployment: Deployment, args: argparse.Namespace) -> list[Report]:
    rng = random.Random(args.seed)
    issues = rng.sample(deployment.emulator.issues(), args.changes * len(args.scenarios))
    return [
        run_scenario(
            deployment,
            scenario,
            issues[n * args.changes : (n + 1) * args.changes],
            rng,
            args.timeout,
        )
        for n, scenario in enumerate(args.scenarios)
    ]


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stops like Ctrl-C: cleaned up
    try:
        with deployment(args) as deployed:
            reports = run_all(deployed, args)
    except (BenchmarkError, AssertionError) as error:  # the tests' helper asserts, too
        print(f"Error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 130
    print_summary(reports, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
