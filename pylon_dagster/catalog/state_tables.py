"""The tables of the project's own state, declared once like the stream tables: `ddl.py` creates
them with the rest (`warehouse/ddl.py`), and the code that reads and writes them
(`warehouse/bookkeeping.py`, `warehouse/deletion_sweep.py`, `warehouse/webhook_events.py`,
`pylon/budget_postgres.py`, the preparation record in `warehouse/ddl.py`) takes their names from
here."""

from __future__ import annotations

from pylon_dagster.catalog.tablespec import StateColumn, StateTableSpec

CHILD_FETCH_STATE = StateTableSpec(
    "child_fetch_state",
    (
        StateColumn("stream", "text"),
        StateColumn("parent_id", "text"),
        StateColumn("parent_version", "timestamptz"),
        StateColumn("fetched_at", "timestamptz"),
        # NULL: fetched before the count was recorded (such a parent is not checked for loss).
        StateColumn("children", "integer", nullable=True),
    ),
    "Per child stream and parent: the parent's version when its children were last fetched, "
    "and how many children were stored then.",
    primary_key=("stream", "parent_id"),
    # The orphan checks of a partition run: the parents fetched for its days (assets/checks.py).
    indexes={"child_fetch_state_stream_parent_version_idx": ("stream", "parent_version")},
)

WEBHOOK_EVENTS = StateTableSpec(
    "webhook_events",
    (
        StateColumn("id", "bigint", identity=True),
        StateColumn("content_sha256", "text", unique=True),
        StateColumn("received_at", "timestamptz"),
        StateColumn("body", "bytea"),
    ),
    "Pylon webhook events received by the web service, once per distinct body.",
    primary_key=("id",),
)

RATE_LIMITS = StateTableSpec(
    "pylon_rate_limits",
    (
        StateColumn("api_host", "text"),
        StateColumn("endpoint", "text"),
        StateColumn("window_seconds", "double precision"),
        StateColumn("configured", "double precision"),
        StateColumn("rate", "double precision"),
        StateColumn("ceiling", "double precision"),
        StateColumn("source", "text"),
        StateColumn("stable_since", "timestamptz"),
        StateColumn("decreased_at", "timestamptz", nullable=True),
        StateColumn("paused_until", "timestamptz", nullable=True),
        StateColumn("freshness_waiting_until", "timestamptz", nullable=True),
        StateColumn("rate_limited_total", "bigint", default="0"),
        StateColumn("updated_at", "timestamptz", default="clock_timestamp()"),
    ),
    "The shared rate budget: per API host and endpoint, the rate in force and how it was learned.",
    primary_key=("api_host", "endpoint"),
)

RATE_SLOTS = StateTableSpec(
    "pylon_rate_slots",
    (
        StateColumn("id", "bigserial"),
        StateColumn("api_host", "text"),
        StateColumn("endpoint", "text"),
        StateColumn("priority", "text"),
        StateColumn("taken_at", "timestamptz"),
        StateColumn("done_at", "timestamptz", nullable=True),
        StateColumn("lease_until", "timestamptz"),
        StateColumn("status", "integer", nullable=True),
    ),
    "The shared rate budget: one row per request inside the current rate-limit window.",
    primary_key=("id",),
    indexes={"pylon_rate_slots_by_endpoint": ("api_host", "endpoint", "taken_at")},
)

RATE_429S = StateTableSpec(
    "pylon_rate_429s",
    (
        StateColumn("api_host", "text"),
        StateColumn("endpoint", "text"),
        StateColumn("answered_at", "timestamptz"),
    ),
    "One row per 429 Pylon answered, kept a week.",
    indexes={"pylon_rate_429s_by_endpoint": ("api_host", "endpoint", "answered_at")},
)

DELETION_SWEEP = StateTableSpec(
    "deletion_sweep",
    (
        StateColumn("stream", "text"),
        # NULL: the next pass starts a cycle, at the oldest issue.
        StateColumn("created_from", "timestamptz", nullable=True),
        StateColumn("updated_at", "timestamptz", default="clock_timestamp()"),
    ),
    "Per soft-deleted stream: where the deletion pass's sweep of the issues by `created_at` goes "
    "on (the first `created_at` of the next slice), shared by every host and kept over restarts.",
    primary_key=("stream",),
)

SCHEMA_VERSIONS = StateTableSpec(
    "schema_versions",
    (
        StateColumn("fingerprint", "text"),
        StateColumn("prepared_at", "timestamptz", default="clock_timestamp()"),
    ),
    "The fingerprints of the table declarations this schema was made to match: a process whose "
    "declarations are recorded here skips the DDL.",
    primary_key=("fingerprint",),
)

STATE_TABLES: dict[str, StateTableSpec] = {
    spec.name: spec
    for spec in (
        CHILD_FETCH_STATE,
        WEBHOOK_EVENTS,
        RATE_LIMITS,
        RATE_SLOTS,
        RATE_429S,
        DELETION_SWEEP,
        SCHEMA_VERSIONS,
    )
}
