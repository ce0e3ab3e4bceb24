"""The few Dagster internals this project relies on, in one place.

Dagster has no public names for the run tags that make one run cover a partition range, for its
cron validation and tick arithmetic, for the asset graph a `Definitions` resolves to, for the
signal it holds back during a step, nor for an instance without compute-log capture; they are
imported here only, so a Dagster upgrade that moves them breaks one small module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
from dagster._core.definitions.decorators.op_decorator import DecoratedOpFunction
from dagster._core.errors import DagsterExecutionInterruptedError
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._utils.interrupts import check_captured_interrupt
from dagster._utils.schedules import is_valid_cron_string, reverse_cron_string_iterator
from dagster_postgres import PostgresEventLogStorage
from dagster_shared.error import SerializableErrorInfo

STOP_SIGNALS = (KeyboardInterrupt, DagsterExecutionInterruptedError)
"""What a SIGINT or SIGTERM raises inside a step."""

__all__ = [
    "POOLED_CONNECTIONS",
    "STOP_SIGNALS",
    "AssetGraph",
    "SerializableErrorInfo",
    "cron_ticks_before",
    "day_range_tags",
    "interrupt_requested",
    "is_valid_cron",
    "on_stop_request",
    "op_function",
    "partition_range",
    "request_stop",
    "runs_side_by_side",
    "threaded_runs_instance",
    "with_renamed_node",
]

_stop_requested = threading.Event()
_stop_listeners: list[Callable[[], None]] = []  # a listener may be registered more than once
_stop_lock = threading.RLock()  # also taken by signal handlers, in the main thread
NO_CAPTURE = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}


def day_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partition keys `first` through `last`."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}


def partition_range(tags: dict[str, str]) -> tuple[str, str] | None:
    """The (first, last) partition keys a run's tags name, if they name a range."""
    first, last = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    return (first, last) if first and last else None


def is_valid_cron(cron: str) -> bool:
    return is_valid_cron_string(cron)


def cron_ticks_before(cron: str, moment: datetime) -> Iterator[datetime]:
    """The ticks of `cron` (UTC) at or before `moment`, newest first, as the schedules see them."""
    return reverse_cron_string_iterator(moment.timestamp(), cron, "UTC")


def interrupt_requested() -> bool:
    """Whether Dagster caught a SIGINT or SIGTERM it has not acted on yet, or `request_stop` was
    called since the last `request_stop(False)`.

    While a step runs, Dagster holds those signals back until the step ends; a step blocked on
    Pylon's budget for minutes would keep a stop request waiting that long. Runs executed in
    threads (the headless sync's) get no signal at all: the main thread asks them to stop.
    """
    return check_captured_interrupt() or _stop_requested.is_set()


def request_stop(stop: bool = True) -> None:
    """Ask every run of this process to stop (`interrupt_requested`), or forget that request.

    The listeners registered with `on_stop_request` are called before this returns."""
    with _stop_lock:
        if not stop:
            _stop_requested.clear()
            return
        _stop_requested.set()
        listeners = list(_stop_listeners)
    for listener in listeners:
        listener()


@contextmanager
def on_stop_request(listener: Callable[[], None]) -> Iterator[None]:
    """While the block runs, `request_stop()` calls `listener` (at once if a stop was already
    requested): work in other threads stops the moment it is asked to, not at its next poll."""
    with _stop_lock:
        _stop_listeners.append(listener)
        requested = _stop_requested.is_set()
    try:
        if requested:
            listener()
        yield
    finally:
        with _stop_lock:
            _stop_listeners.remove(listener)  # one registration: others may still be open


POOLED_CONNECTIONS = {"statement_timeout": 60_000, "pool_recycle": 3600, "max_overflow": 8}
"""`optimize_for_webserver` settings of a Postgres storage: dagster-postgres opens a connection
per event unless it serves the webserver, which keeps one open (and more for its threads): about
2 ms saved per event, a third of a small run's time."""


def threaded_runs_instance(home: Path) -> dg.DagsterInstance:
    """The instance of `home`, without capturing the runs' stdout and stderr.

    Dagster captures a run's output by pointing file descriptors 1 and 2 at its compute-log files
    for the run's length: runs executed side by side in threads of one process would take the
    descriptors from each other (and leave them pointing at a finished run's file). Safe for runs
    in threads otherwise too (below).
    """
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home), overrides=NO_CAPTURE))
    # Every run's setup reads the Python log handlers of dagster.yaml with `logging.dictConfig`,
    # which closes every handler of the process under logging's global lock: beside a run that is
    # emitting an event (holding its handler's lock, then asking for the global one) it deadlocks.
    # Read once here, they are the same handlers for every run.
    handlers = instance.get_yaml_python_handlers()
    instance.get_yaml_python_handlers = lambda: handlers  # type: ignore[method-assign]
    if runs_side_by_side(instance):  # any Postgres storage, the embedded one or a dagster.yaml's
        instance.optimize_for_webserver(**POOLED_CONNECTIONS)
    return instance


def runs_side_by_side(instance: dg.DagsterInstance) -> bool:
    """Whether runs of `instance` may execute in threads of one process at once: only on Postgres
    storage. SQLite (a state folder's home made before its storage moved to Postgres, or an
    ephemeral instance in memory) takes one writer at a time."""
    return isinstance(instance.event_log_storage, PostgresEventLogStorage)


def with_renamed_node(
    assets_def: dg.AssetsDefinition,
    name: str,
    resource_keys: dict[str, str],
    compute: Callable[..., object],
) -> dg.AssetsDefinition:
    """`assets_def` whose op is called `name` and asks for its resources under new keys
    (`resource_keys`: old to new), running `compute` (the op's function, its resource parameters
    renamed accordingly). Dagster has no public way to rename an op or its resource keys; two
    copies of one asset graph in one code location need both (`namespace.py`)."""
    op = assets_def.node_def
    if not isinstance(op, dg.OpDefinition):
        raise TypeError(f"{assets_def.keys} is not computed by a single op")
    renamed = dg.OpDefinition.dagster_internal_init(
        name=name,
        ins={input_def.name: dg.In.from_definition(input_def) for input_def in op.input_defs},
        outs={output.name: dg.Out.from_definition(output) for output in op.output_defs},
        compute_fn=DecoratedOpFunction(compute),
        config_schema=op.config_schema,
        description=op.description,
        tags=op.tags,
        required_resource_keys={resource_keys.get(k, k) for k in op.required_resource_keys},
        code_version=op._version,  # its only public reader, `version`, is deprecated
        retry_policy=op.retry_policy,
        version=None,
        pool=op.pool,
    )
    return type(assets_def).dagster_internal_init(
        **{**assets_def.get_attributes_dict(), "node_def": renamed}
    )


def op_function(assets_def: dg.AssetsDefinition) -> Callable[..., object]:
    """The function an asset's (or asset check's) op runs."""
    compute = assets_def.op.compute_fn
    if not isinstance(compute, DecoratedOpFunction):
        raise TypeError(f"{assets_def.keys} is not computed by a decorated function")
    return compute.decorated_fn
