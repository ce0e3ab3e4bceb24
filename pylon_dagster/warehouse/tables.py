"""The warehouse tables, declared once.

Each stream has a `TableSpec`: its key, write mode, the parent key we add to child records, and
its typed columns as (name, Postgres type, JSON path into the record). The DDL, the Dagster column
schema and the load SQL are all derived from these specs. Typed columns are computed in SQL from
`raw` (see `casts.py`), so adding a column here is all it takes: `ensure_tables()` adds it to the
existing table and fills it from the rows already stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import dagster as dg

from pylon_dagster.warehouse.sql import is_plain_name

PG_TYPES = ("text", "bigint", "boolean", "timestamptz", "text[]", "jsonb")


class WriteMode(StrEnum):
    MERGE = "merge"
    """Upsert on the key. With a `version` column a row is only replaced by an equal or newer one."""
    REPLACE = "replace"
    """Full refresh: the table ends up holding exactly the records loaded; the rest is deleted."""
    REPLACE_PER_PARENT = "replace_per_parent"
    """Children: the stored children of each parent named in the load are replaced by its batch."""
    APPEND = "append"
    """History: one row per distinct (key, version); a version already stored is left alone."""


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    path: tuple[str, ...]
    description: str

    def __post_init__(self) -> None:
        if not is_plain_name(self.name):
            raise ValueError(f"column {self.name!r}: use a lower-case identifier")
        if not all(step.isidentifier() for step in self.path):
            raise ValueError(f"column {self.name}: path {self.path} has a step that is no name")
        if self.pg_type not in PG_TYPES:
            raise ValueError(f"column {self.name}: type {self.pg_type!r} is not one of {PG_TYPES}")


def col(name: str, pg_type: str = "text", path: str | None = None, description: str = "") -> Column:
    """A typed column read from `path` (dotted, default: the column's name) of the API record."""
    dotted = path or name
    return Column(
        name, pg_type, tuple(dotted.split(".")), description or f"`{dotted}` of the API record."
    )


@dataclass(frozen=True)
class TableSpec:
    name: str
    mode: WriteMode
    columns: tuple[Column, ...]
    description: str
    key: str = "id"
    # The column we add to child records: the id of the parent they were fetched for.
    parent_key: str | None = None
    # A typed timestamptz column that orders the versions of one record (merge guard, history key).
    version: str | None = None
    # The append-mode table that also receives every version loaded into this one.
    history: str | None = None

    def __post_init__(self) -> None:
        names = self.column_names
        if not all(map(is_plain_name, (self.name, *names))):
            raise ValueError(f"{self.name}: table and column names must be lower-case identifiers")
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate column names in {names}")
        if (self.parent_key is not None) != (self.mode is WriteMode.REPLACE_PER_PARENT):
            raise ValueError(f"{self.name}: a parent key goes with replace_per_parent, only")
        typed = {c.name: c.pg_type for c in self.columns}
        if self.version is not None and typed.get(self.version) != "timestamptz":
            raise ValueError(f"{self.name}: version {self.version!r} is not a timestamptz column")
        if self.mode is WriteMode.APPEND and self.version is None:
            raise ValueError(f"{self.name}: append mode needs a version column")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column, in table order: key, parent key, typed columns, raw, _synced_at."""
        parent = (self.parent_key,) if self.parent_key else ()
        return (self.key, *parent, *(c.name for c in self.columns), "raw", "_synced_at")

    @property
    def primary_key(self) -> tuple[str, ...]:
        return (self.key, self.version) if self.mode is WriteMode.APPEND else (self.key,)


def _ts(name: str, path: str | None = None, description: str = "") -> Column:
    return col(name, "timestamptz", path, description)


ISSUE_COLUMNS = (
    col("number", "bigint", description="Issue number shown in Pylon."),
    col("title"),
    col("state", description="new, waiting_on_you, ... or a custom status slug."),
    col("type", description="conversation or ticket."),
    col("source", description="Channel the issue came from (slack, email, ...)."),
    col("link", description="URL of the issue in Pylon."),
    col("account_id", path="account.id"),
    col("requester_id", path="requester.id"),
    col("requester_email", path="requester.email"),
    col("assignee_id", path="assignee.id"),
    col("assignee_email", path="assignee.email"),
    col("team_id", path="team.id"),
    col("tags", "text[]"),
    _ts("created_at"),
    _ts("updated_at", description="Last change of the issue; orders its versions."),
    _ts("first_response_time"),
    col("first_response_seconds", "bigint"),
    col("business_hours_first_response_seconds", "bigint"),
    _ts("resolution_time"),
    col("resolution_seconds", "bigint"),
    col("business_hours_resolution_seconds", "bigint"),
    _ts("latest_message_time"),
    _ts("snoozed_until_time"),
    col("number_of_touches", "bigint"),
    col("customer_portal_visible", "boolean"),
    col("is_issue_group", "boolean"),
)
# The history keeps the fields whose changes people follow, defined exactly as in `issues`.
HISTORY_COLUMNS = tuple(
    c
    for c in ISSUE_COLUMNS
    if c.name in {"updated_at", "number", "state", "assignee_id", "team_id"}
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "issues",
            WriteMode.MERGE,
            ISSUE_COLUMNS,
            "Pylon issues, one row per issue (its latest version).",
            version="updated_at",
            history="issues_history",
        ),
        TableSpec(
            "issues_history",
            WriteMode.APPEND,
            HISTORY_COLUMNS,
            "Every version of every issue seen, one row per (id, updated_at).",
            version="updated_at",
        ),
        TableSpec(
            "issue_messages",
            WriteMode.REPLACE_PER_PARENT,
            (
                _ts("timestamp", description="When the message was sent."),
                col("is_private", "boolean", description="True for internal notes."),
                col("source"),
                col("thread_id", description="Internal note thread (set for internal notes only)."),
                col("author_name", path="author.name"),
                col("author_contact_id", path="author.contact.id"),
                col("author_contact_email", path="author.contact.email"),
                col("author_user_id", path="author.user.id"),
                col("author_user_email", path="author.user.email"),
                col("from_email", path="email_info.from_email"),
            ),
            "Messages of each issue; `message_html` is in `raw`.",
            parent_key="issue_id",
        ),
        TableSpec(
            "issue_threads",
            WriteMode.REPLACE_PER_PARENT,
            (col("name"), col("source"), col("channel_id"), col("thread_id")),
            "Internal note threads of each issue.",
            parent_key="issue_id",
        ),
        TableSpec(
            "accounts",
            WriteMode.REPLACE,
            (
                col("name"),
                col("type", description="customer, internal, community or partner."),
                col("domain"),
                col("domains", "text[]"),
                col("primary_domain"),
                col("owner_id", path="owner.id"),
                col("tags", "text[]"),
                col("is_disabled", "boolean"),
                col("parent_account_id"),
                _ts("created_at"),
                _ts("updated_at"),
                _ts("latest_customer_activity_time"),
            ),
            "Customer accounts.",
        ),
        TableSpec(
            "contacts",
            WriteMode.REPLACE,
            (
                col("name"),
                col("email"),
                col("account_id", path="account.id"),
                col("portal_role", description="no_access, member or admin."),
                col("portal_role_id"),
                col("primary_phone_number"),
            ),
            "Contacts (end customers).",
        ),
        TableSpec(
            "users",
            WriteMode.REPLACE,
            (
                col("name"),
                col("email"),
                col("role_id"),
                col("status"),
                col("is_deactivated", "boolean"),
            ),
            "Pylon users (agents).",
        ),
        TableSpec("teams", WriteMode.REPLACE, (col("name"),), "Support teams."),
        TableSpec(
            "tags",
            WriteMode.REPLACE,
            (col("value"), col("hex_color"), col("object_type")),
            "Tags of issues, accounts and articles.",
        ),
        TableSpec(
            "custom_fields",
            WriteMode.REPLACE,
            (
                col("slug"),
                col("label"),
                col("description"),
                col("type"),
                col("object_type"),
                col("source"),
                col("is_read_only", "boolean"),
                _ts("created_at"),
                _ts("updated_at"),
            ),
            "Custom field definitions.",
        ),
        TableSpec(
            "knowledge_bases",
            WriteMode.REPLACE,
            (
                col("title"),
                col("slug"),
                col("default_language"),
                col("supported_languages", "text[]"),
            ),
            "Knowledge bases.",
        ),
        TableSpec(
            "knowledge_base_articles",
            WriteMode.REPLACE_PER_PARENT,
            (
                col("title"),
                col("slug"),
                col("url"),
                col("identifier"),
                col("is_published", "boolean"),
                col("is_unlisted", "boolean"),
                col("collection_id"),
                col("visibility", path="visibility_config.visibility"),
                col("author_user_id"),
                _ts("created_at"),
                _ts("last_published_at"),
                _ts("last_edited_at"),
            ),
            "Knowledge base articles; the HTML content is in `raw`.",
            parent_key="knowledge_base_id",
        ),
        TableSpec(
            "knowledge_base_collections",
            WriteMode.REPLACE_PER_PARENT,
            (
                col("title"),
                col("slug"),
                col("description"),
                col("parent_collection_id"),
                _ts("created_at"),
            ),
            "Knowledge base collections.",
            parent_key="knowledge_base_id",
        ),
        TableSpec(
            "ticket_forms",
            WriteMode.REPLACE,
            (col("name"), col("slug"), col("url"), col("is_public", "boolean")),
            "Ticket forms; their fields are in `raw`.",
        ),
        TableSpec("user_roles", WriteMode.REPLACE, (col("name"), col("slug")), "User roles."),
        TableSpec(
            "activity_types",
            WriteMode.REPLACE,
            (col("label"), col("slug"), col("icon_url")),
            "Account activity types.",
        ),
        TableSpec(
            "issue_statuses",
            WriteMode.REPLACE,
            (
                col("label"),
                col("category"),
                col("is_default_status", "boolean"),
                col("is_archived", "boolean"),
            ),
            "Issue statuses.",
            key="slug",
        ),
    )
}


def table_spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"no warehouse table {table!r}; known: {', '.join(TABLES)}") from None


def table_schema(table: str) -> dg.TableSchema:
    """The Dagster column schema of a table, shown in the asset catalog."""
    spec = table_spec(table)
    columns = [
        dg.TableColumn(
            spec.key,
            "text",
            description=f"Primary key: `{spec.key}` of the API record.",
            constraints=dg.TableColumnConstraints(
                nullable=False, unique=len(spec.primary_key) == 1
            ),
        )
    ]
    if spec.parent_key:
        columns.append(
            dg.TableColumn(
                spec.parent_key,
                "text",
                description="Id of the parent the record was fetched for (added by the sync).",
                constraints=dg.TableColumnConstraints(nullable=False),
            )
        )
    columns += [dg.TableColumn(c.name, c.pg_type, description=c.description) for c in spec.columns]
    columns += [
        dg.TableColumn("raw", "jsonb", description="The record exactly as the API returned it."),
        dg.TableColumn("_synced_at", "timestamptz", description="When this row was last written."),
    ]
    return dg.TableSchema(columns=columns)
