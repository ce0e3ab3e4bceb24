"""What every Pylon asset shares: keys, pool, retry policy, kinds and materialization metadata."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg

from pylon_dagster.catalog.streams import Stream
from pylon_dagster.dagster_adapter import STOP_SIGNALS
from pylon_dagster.progress.sink import ProgressSink
from pylon_dagster.pylon.client import RequestStats
from pylon_dagster.pylon.errors import (
    PylonAuthenticationError,
    PylonRequestError,
    PylonResponseError,
    PylonStoppedError,
)
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.warehouse import LoadResult

KEY_PREFIX = "pylon"
PYLON_POOL = "pylon_api"
KINDS = {"pylon", "postgres"}
OWNERS = ["team:support-ops"]
PREVIEW_ROWS = 5

# Transient Pylon trouble is already retried per request; this covers the rest (a dropped database
# connection, a run killed mid-flight). Loads are idempotent, so a retry is always safe.
PYLON_RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


# What no retry can fix: a refused token, a request Pylon rejects, an answer that is not Pylon's
# envelope or a pagination that never ends. Retrying these would only delay the failure by minutes.
PERMANENT_PYLON_ERRORS = (
    PylonAuthenticationError,
    PylonRequestError,
    PylonResponseError,
    PylonStoppedError,
)


@contextmanager
def fail_fast_on_permanent_errors(pylon: PylonResource | None = None) -> Iterator[None]:
    """Fail the step at once, skipping the retry policy, when Pylon's answer cannot change, or
    when the sync is asked to stop (SIGINT, SIGTERM): then every client of `pylon` stops at its
    next request, the open transaction rolls back, and no retry starts the work again."""
    try:
        yield
    except PERMANENT_PYLON_ERRORS as error:
        raise dg.Failure(
            description=f"{type(error).__name__}: {error}", allow_retries=False
        ) from error
    except STOP_SIGNALS as interrupt:
        if pylon is not None:
            pylon.stop()
        stopped = PylonStoppedError()
        raise dg.Failure(
            description=f"{type(stopped).__name__}: {stopped}", allow_retries=False
        ) from interrupt


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey([KEY_PREFIX, table])


def selected_keys(context: dg.AssetExecutionContext) -> dict[str, dg.AssetKey]:
    """The keys this run materializes, by table (the key's last part): the code names tables,
    the keys carry the instance's prefix (`namespace.py`)."""
    return {key.path[-1]: key for key in context.selected_asset_keys}


def sibling_key(key: dg.AssetKey, table: str) -> dg.AssetKey:
    """The key of `table` in the same instance as `key`."""
    return dg.AssetKey([*key.path[:-1], table])


def child_table_spec(stream: Stream, **extra: Any) -> dg.AssetSpec:
    """The spec of one child stream of a multi-asset that fetches children per parent record."""
    if stream.parent is None:
        raise ValueError(f"{stream.name} has no parent stream")
    return dg.AssetSpec(
        asset_key(stream.name),
        deps=[asset_key(stream.parent)],
        description=stream.description,
        group_name=stream.group,
        skippable=True,
        **extra,
    )


def with_shared_properties(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Every Pylon asset's kinds and owners, applied to all specs in one call."""

    def shared(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.merge_attributes(kinds=KINDS, owners=OWNERS)

    return list(dg.map_asset_specs(shared, assets))


def with_table_metadata(
    assets: Sequence[dg.AssetsDefinition], schema: str
) -> list[dg.AssetsDefinition]:
    """The table metadata of every spec, each asset's table in the warehouse schema `schema`."""

    def with_table(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.merge_attributes(metadata=table_metadata(spec.key.path[-1], schema))

    return list(dg.map_asset_specs(with_table, assets))


def table_metadata(table: str, schema: str) -> dict[str, Any]:
    """Definition-time metadata that makes the catalog useful: where the table is and its columns."""
    from pylon_dagster.catalog.tables import table_schema

    return {
        "dagster/table_name": f"{schema}.{table}",
        "dagster/column_schema": table_schema(table),
    }


def materialization_metadata(
    load: LoadResult,
    stats: RequestStats,
    *,
    preview: Sequence[Mapping[str, Any]] = (),
    preview_columns: Sequence[str] = ("id",),
    **extra: Any,
) -> dict[str, Any]:
    """Rows written, API cost and a small preview, as shown on every materialization."""
    return {
        **load_metadata(load, preview=preview, preview_columns=preview_columns),
        **stats.as_metadata(),
        **extra,
    }


def load_metadata(
    load: LoadResult,
    *,
    preview: Sequence[Mapping[str, Any]] = (),
    preview_columns: Sequence[str] = ("id",),
) -> dict[str, Any]:
    """Rows written and a small preview."""
    metadata: dict[str, Any] = {
        "rows_received": load.received,
        "rows_inserted": load.inserted,
        "rows_updated": load.updated,
        "rows_unchanged": load.unchanged,
        "rows_deleted": load.deleted,
        "rows_sanitized": load.sanitized,
        "rows_rejected": load.rejected,
    }
    if preview:
        metadata["preview"] = dg.MetadataValue.md(_markdown_table(preview, preview_columns))
    return metadata


def _markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 60 else text[:57] + "..."

    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def reported(
    batches: Iterable[Sequence[Mapping[str, Any]]], stream: str, progress: ProgressSink
) -> Iterator[Sequence[Mapping[str, Any]]]:
    """Passes batches through unchanged, reporting each one's records to `progress`."""
    for batch in batches:
        progress.advanced(stream, records=len(batch))
        yield batch


class PreviewTap:
    """Passes batches through unchanged while keeping the first few records for the preview."""

    def __init__(self, size: int = PREVIEW_ROWS):
        self.size = size
        self.rows: list[Mapping[str, Any]] = []

    def __call__(
        self, batches: Iterable[Sequence[Mapping[str, Any]]]
    ) -> Iterator[Sequence[Mapping[str, Any]]]:
        for batch in batches:
            if len(self.rows) < self.size:
                self.rows.extend(batch[: self.size - len(self.rows)])
            yield batch
