"""The headless sync: every asset materialized with Dagster's own execution APIs, no daemon needed.

Reference streams and the knowledge base run once; `issues` (with its messages and threads) runs
once per chunk of at most 30 daily partitions, the same batching a UI backfill uses, so every run
covers at most one API search window; then the deletion pass marks the issues Pylon no longer
has, and the support metrics of the days synced and of the days that count the issues the pass
marked or un-marked, and the account summary follow, computed from the warehouse.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from pylon_dagster.assets.common import PYLON_POOL
from pylon_dagster.assets.issue_deletions import (
    ISSUE_DELETIONS,
    METRIC_DAYS,
    SWEEP_TAG,
    WHOLE_SWEEP,
)
from pylon_dagster.assets.issues import ISSUES
from pylon_dagster.assets.partitions import day_runs, stretch_days
from pylon_dagster.dagster_adapter import (
    STOP_SIGNALS,
    day_range_tags,
    interrupt_requested,
    request_stop,
    runs_side_by_side,
    threaded_runs_instance,
)
from pylon_dagster.instance import DAGSTER_HOME_VAR
from pylon_dagster.jobs import (
    account_summary_job,
    daily_metrics_job,
    issue_deletions_job,
    issues_job,
    reference_job,
)
from pylon_dagster.progress.display import SyncDisplay
from pylon_dagster.progress.relay import WINDOW_TAG
from pylon_dagster.pylon.errors import (
    PylonAuthenticationError,
    PylonError,
    PylonStoppedError,
    PylonUnavailableError,
)
from pylon_dagster.pylon.resource import STOPPING_MESSAGE
from pylon_dagster.settings import API_TOKEN_VAR, API_URL_VAR, ConfigError, Settings
from pylon_dagster.warehouse.engine import WarehouseUnavailableError

PREFLIGHT_ATTEMPTS = 2
SIDE_BY_SIDE_RUNS = 4
"""Runs of one stage executing at once: the reference streams and three 30-day windows keep every
endpoint's budget busy (they share it through the warehouse: more would only queue)."""
SYNC_RUN_TAG = "pylon_dagster/headless_sync"
"""Tag of every run the headless sync starts, so a later sync can find the ones left unfinished."""
LOCK_FILE = "sync.lock"
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]

STOP_SIGNAL_NUMBERS = (signal.SIGINT, signal.SIGTERM)
Echo = Callable[[str], None]
# Besides the `display`, one line per run, a failure one line with its cause; Dagster's own
# step-by-step events, stack traces included, stay in the run's event log.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


STOP_ERROR_NAMES = (
    PylonStoppedError.__name__,
    *(interrupt.__name__ for interrupt in STOP_SIGNALS),
)


@dataclass(frozen=True)
class SyncRun:
    """One Dagster run of the sync and how it ended."""

    label: str
    run_id: str
    success: bool
    error: str | None = None
    summary: str | None = None
    """What the run found worth a line of its own (the deletion pass: issues marked deleted)."""
    metric_days: tuple[str, ...] = ()
    """The days whose metrics count the issues the deletion pass marked or un-marked."""

    @property
    def stopped(self) -> bool:
        """Ended by a stop request (SIGINT, SIGTERM), not by a fault."""
        return any(name in (self.error or "") for name in STOP_ERROR_NAMES)


def issue_days(defs: dg.Definitions) -> dg.PartitionsDefinition:
    """The daily partitions of the definitions' `issues` (and of its children and metrics)."""
    partitions = defs.resolve_assets_def(ISSUES).partitions_def
    if partitions is None:
        raise ValueError(f"{ISSUES.to_user_string()} has no partitions in these definitions")
    return partitions


def partition_chunks(
    partitions: dg.PartitionsDefinition, start: date | None, end: date | None
) -> list[list[str]]:
    """The keys of `partitions` from `start` to `end` (inclusive), in chunks of <= 30 days."""
    keys = partitions.get_partition_keys()
    first, last = (start.isoformat() if start else keys[0]), (end.isoformat() if end else keys[-1])
    if first > last:
        raise ConfigError(f"--start {first} is after --end {last}: swap them.")
    if first < keys[0]:
        raise ConfigError(
            f"--start {first} is before the first partition {keys[0]}. Set PYLON_START_DATE to "
            f"{first} (or earlier) to sync that far back."
        )
    return day_runs(key for key in keys if first <= key <= last)


def preflight(defs: dg.Definitions, settings: Settings) -> None:
    """Check the warehouse (preparing its tables), the token and the API URL before any data is
    read or written.

    Raises `ConfigError` naming the setting at fault and what a valid value looks like. Messages
    never contain the token.
    """
    if not settings.has_api_token:
        raise ConfigError(
            f"{API_TOKEN_VAR} is not set. Set it to an API token made by an Admin in Pylon under "
            f"Settings > API, e.g. export {API_TOKEN_VAR}=<your token>."
        )
    try:
        # Checks the schema name, connects, and prepares the warehouse for this process.
        defs.resources["warehouse"].process_config_and_initialize()
    except WarehouseUnavailableError as error:
        raise ConfigError(str(error)) from None
    api_url = defs.resources["pylon"].base_url
    try:
        with (
            defs.resources["pylon"].process_config_and_initialize_cm() as pylon,
            pylon.get_client(max_attempts=PREFLIGHT_ATTEMPTS) as client,
        ):
            client.me()
    except PylonAuthenticationError as error:
        raise ConfigError(str(error)) from None
    except PylonUnavailableError as error:
        raise ConfigError(
            f"{API_URL_VAR}={api_url!r} cannot be reached ({error.last_failure}). Use "
            "https://api.usepylon.com, https://api.eu.usepylon.com for EU organizations, or "
            "the emulator's URL, e.g. http://127.0.0.1:8765."
        ) from None
    except PylonError as error:
        raise ConfigError(
            f"{API_URL_VAR}={api_url!r} does not answer like Pylon's API ({error}). Use "
            "https://api.usepylon.com or https://api.eu.usepylon.com."
        ) from None
    except WarehouseUnavailableError as error:  # the rate budget's tables: locked, unreachable
        raise ConfigError(str(error)) from None


@contextmanager
def exclusive_sync(state: Path) -> Iterator[None]:
    """Hold the state folder's sync lock; the OS drops it when the process ends, even on SIGKILL."""
    state.mkdir(parents=True, exist_ok=True)
    with (state / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"Another `pylon-dagster sync` is running with the state folder {state} "
                "(PYLON_DAGSTER_STATE): wait for it to finish, or give this one its own "
                "PYLON_DAGSTER_STATE."
            ) from None
        yield


def recover_interrupted_runs(instance: dg.DagsterInstance, echo: Echo = print) -> list[str]:
    """Fail the runs of an earlier headless sync that never finished, and free their pool slots.

    A sync killed mid-run (SIGKILL, OOM, a reboot) leaves its run STARTED in the instance, holding
    the `pylon_api` pool slot its step claimed: every later run would wait for that slot forever.
    Their writes were rolled back with their transactions, so only the bookkeeping is left to
    undo. Call it only while holding `exclusive_sync`: then no other headless sync is running.
    """
    runs = instance.get_runs(dg.RunsFilter(statuses=UNFINISHED, tags={SYNC_RUN_TAG: "true"}))
    for run in runs:
        instance.report_run_failed(
            run, message="The sync running this run was killed before it finished."
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        echo(f"run {run.run_id} of an earlier sync was interrupted: marked failed, slots freed")
    return [run.run_id for run in runs]


def headless_sync(
    defs: dg.Definitions,
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    echo: Echo = print,
    display: SyncDisplay | None = None,
) -> list[SyncRun]:
    """The whole headless sync of `defs` (built from `settings`) on the instance in DAGSTER_HOME:
    settings checked first, one sync per state folder at a time, and the runs of an earlier killed
    sync cleaned up."""
    preflight(defs, settings)
    home = Path(os.environ[DAGSTER_HOME_VAR])  # set by `instance.dagster_home()`
    with exclusive_sync(settings.state_dir), threaded_runs_instance(home) as instance:
        recover_interrupted_runs(instance, echo=echo)
        return run_sync(defs, instance, start=start, end=end, echo=echo, display=display)


def run_sync(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    *,
    start: date | None = None,
    end: date | None = None,
    echo: Echo = print,
    display: SyncDisplay | None = None,
) -> list[SyncRun]:
    """Materialize every asset, in three stages whose runs execute side by side (on storage that
    allows it, `runs_side_by_side`): the reference streams with every issues window, then the
    deletion pass, then the metrics and the account summary. No run starts after one failed or a
    stop was asked for (Ctrl-C, SIGTERM: the runs going on stop at their next Pylon request);
    returns the runs that ran, in the order they ended.

    `display` shows each run's progress while it goes (`pylon_dagster/progress/display.py`)."""
    partitions = issue_days(defs)
    chunks = partition_chunks(partitions, start, end)
    runs = _SyncRuns(defs, instance, echo, display)
    with _stop_signals_ask_runs_to_stop():
        if runs.stage(_first_stage(chunks)) and runs.stage(_deletion_stage()):
            # The days the pass found changed join the days synced.
            changed_days = runs.ended[-1].metric_days
            runs.stage(_analytics_runs(partitions, chunks, changed_days))
    return runs.ended


def stopped_on_request(runs: Sequence[SyncRun]) -> bool:
    """Whether the sync that ran `runs` ended because a stop was asked for (a run stopped, or
    no further run started)."""
    return interrupt_requested() or any(run.stopped for run in runs)


SIGNAL_CHECK_SECONDS = 0.5
"""How soon the main thread runs a stop signal's handler when another thread received it."""

Plan = tuple[str, str, dict[str, str]]
"""(job name, label, run tags) of one run of the sync."""


def _first_stage(chunks: Sequence[Sequence[str]]) -> list[Plan]:
    """The reference streams and one run per issues chunk (one API search window each)."""
    return [
        (reference_job.name, "reference streams and knowledge base", {}),
        *(
            (
                issues_job.name,
                f"issues {chunk[0]} .. {chunk[-1]} ({len(chunk)} days)",
                day_range_tags(chunk[0], chunk[-1]),
            )
            for chunk in chunks
        ),
    ]


def _deletion_stage() -> list[Plan]:
    """The deletion pass over every issue at once (not the sweep's next slice): a sync ends with
    the deletions of the whole organization marked, at one search request per 999 issues."""
    return [(issue_deletions_job.name, "issue deletions", {SWEEP_TAG: WHOLE_SWEEP})]


def _analytics_runs(
    partitions: dg.PartitionsDefinition,
    chunks: Sequence[Sequence[str]],
    changed_days: Iterable[str],
) -> list[Plan]:
    """The support metrics of the days synced and of `changed_days` (those that count an issue
    the deletion pass marked or un-marked, however old), one run per stretch of consecutive days
    (no API calls), and the account summary. Both come after the deletion pass, so deleted
    issues are not counted."""
    if not chunks:
        return []
    keys = set(partitions.get_partition_keys())
    days = {day for chunk in chunks for day in chunk} | (set(changed_days) & keys)
    return [
        *(
            (
                daily_metrics_job.name,
                f"support metrics {stretch[0]} .. {stretch[-1]}",
                day_range_tags(stretch[0], stretch[-1]),
            )
            for stretch in day_runs(days, max_days=None)
        ),
        (account_summary_job.name, "account support summary", {}),
    ]


class _SyncRuns:
    """The runs of one sync: executed stage by stage, each stage's runs in threads at once."""

    def __init__(
        self,
        defs: dg.Definitions,
        instance: dg.DagsterInstance,
        echo: Echo,
        display: SyncDisplay | None,
    ):
        self.defs = defs
        self.instance = instance
        self.echo = echo
        self.display = display
        self.workers = SIDE_BY_SIDE_RUNS if runs_side_by_side(instance) else 1
        self.ended: list[SyncRun] = []
        self.started = 0
        self._lock = threading.Lock()
        request_stop(False)
        # Made here once: the runs' first claims of a slot would each create the pool's row, and
        # on Postgres all but one fail (Dagster's insert-or-update runs in one transaction, so
        # it is only called while the row is missing).
        storage = instance.event_log_storage
        if PYLON_POOL not in storage.get_concurrency_keys():
            storage.initialize_concurrency_limit_to_default(PYLON_POOL)

    @property
    def halted(self) -> bool:
        """A run failed or stopped, or a stop was asked for: no further run starts."""
        return interrupt_requested() or any(not run.success for run in self.ended)

    def stage(self, plans: Sequence[Plan]) -> bool:
        """Execute `plans` side by side; whether every one of them ran and succeeded."""
        for job_name, _, _ in plans:
            self.defs.resolve_job_def(job_name)  # resolved here, not by several threads at once
        with ThreadPoolExecutor(self.workers, thread_name_prefix="sync-run") as pool:
            wait_answering_signals([pool.submit(self._run, plan) for plan in plans])
        return not self.halted

    def _run(self, plan: Plan) -> None:
        job_name, label, tags = plan
        with self._lock:
            if self.halted:
                return
            self.started += 1
            window = f"[{self.started}] {label}"
        with self.display.window(window) if self.display else nullcontext():
            run = _execute(self.defs, self.instance, job_name, label, {**tags, WINDOW_TAG: window})
        with self._lock:
            self.ended.append(run)
            self._report(run)

    def _report(self, run: SyncRun) -> None:
        outcome = "ok" if run.success else "stopped" if run.stopped else "FAILED"
        self.echo(f"{run.label}: {outcome} (run {run.run_id})")
        if run.summary:
            self.echo(f"  {run.summary}")
        if not run.success and not run.stopped:
            self.echo(f"  {run.error}")


def wait_answering_signals(futures: Sequence[Future[Any]]) -> None:
    """Wait for `futures` (raising the first one's exception), waking every
    `SIGNAL_CHECK_SECONDS` to run the signal handlers that are due.

    Python runs a signal's handler in the main thread, between two bytecodes. The kernel may hand
    the signal to any thread; then a main thread blocked in a lock (as `Future.result()` is)
    would run the handler only once the run it waits for ended, and a run held by Pylon waits for
    the handler to stop it."""
    while wait(futures, timeout=SIGNAL_CHECK_SECONDS).not_done:
        pass
    for future in futures:
        future.result()


@contextmanager
def _stop_signals_ask_runs_to_stop() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM ask the runs to stop (`request_stop`: they end at
    their next Pylon request, no further run starts) instead of raising `KeyboardInterrupt`.

    An exception raised wherever the main thread happened to be (between two runs, inside
    Dagster's bookkeeping, in a thread pool's shutdown) could be lost or leave a run going with
    no one waiting for it; a request is seen by every run and by the next one to start."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can handle signals; its caller's handlers stay
        return

    def ask_runs_to_stop(_signum: int, _frame: object) -> None:
        request_stop()  # every client of the runs is stopped when this returns
        print(STOPPING_MESSAGE, file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, ask_runs_to_stop) for sig in STOP_SIGNAL_NUMBERS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _execute(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    job_name: str,
    label: str,
    tags: dict[str, str],
) -> SyncRun:
    job = defs.resolve_job_def(job_name)
    result = job.execute_in_process(
        run_config=QUIET_LOGS,
        instance=instance,
        tags={**tags, SYNC_RUN_TAG: "true"},
        raise_on_error=False,
    )
    deletions = deletion_pass_metadata(result)
    run = SyncRun(
        label,
        result.run_id,
        result.success,
        None if result.success else _error(result),
        _deletion_summary(deletions) if deletions else None,
        tuple(stretch_days(deletions[METRIC_DAYS])) if deletions else (),
    )
    if run.stopped:
        # A stop is not a failure: the run shows as canceled, like one canceled from the UI.
        instance.report_run_canceled(result.dagster_run, message="Stopped on request (signal).")
    return run


def deletion_pass_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any] | None:
    """The metadata values of the deletion pass's materialization, if this run made one."""
    for event in result.get_asset_materialization_events():
        if event.asset_key == ISSUE_DELETIONS:
            metadata = event.step_materialization_data.materialization.metadata
            return {name: value.value for name, value in metadata.items()}
    return None


def _deletion_summary(metadata: dict[str, Any]) -> str:
    """One line on what the deletion pass marked."""
    line = (
        f"{metadata['issues_marked_deleted']} issues marked deleted, "
        f"{metadata['issues_unmarked']} un-marked"
    )
    if not metadata["listing_complete"]:
        line += " (the listing of live issues was incomplete: nothing marked)"
    return line


def _error(result: dg.ExecuteInProcessResult) -> str:
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        if error is not None:
            cause = error.cause.message.strip() if error.cause else ""
            return f"{event.step_key}: {error.message.strip()} {cause}".strip()
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.RUN_FAILURE:
            error = event.job_failure_data.error
            detail = f"{error.cls_name}: {error.message.strip()}" if error else event.message
            return f"the run failed outside its steps: {detail}"
    return "the run failed without a step failure; see the run in the Dagster UI"
