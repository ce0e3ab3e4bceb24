"""Every Pylon stream, declared once.

A `Stream` names the endpoint it is read from, how it is written (its `WriteMode`, key, typed
columns), its parent (children are fetched once per parent record), its Dagster group and its
description. From it come the warehouse table (`tables.py`), the asset spec (key,
description, group, column schema), the asset checks (unique key; children belong to a known
parent) and, for full-refresh streams, the asset itself (`assets/reference.py`). Adding a stream
is adding one declaration here (see "Adding a stream" in docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pylon_dagster.catalog import endpoints
from pylon_dagster.catalog.endpoints import Endpoint
from pylon_dagster.catalog.tablespec import Column, TableSpec, WriteMode, col, ts

ISSUES_GROUP = "pylon_issues"
REFERENCE_GROUP = "pylon_reference"
KNOWLEDGE_BASE_GROUP = "pylon_knowledge_base"


@dataclass(frozen=True)
class Stream:
    name: str
    """Table and asset name (`pylon/<name>`)."""
    endpoint: Endpoint
    description: str
    mode: WriteMode
    columns: tuple[Column, ...]
    group: str = REFERENCE_GROUP
    key: str = "id"
    parent: str | None = None
    """The stream whose records this one is fetched for, one request sequence per record."""
    version: str | None = None
    history: str | None = None
    partition_column: str | None = None
    """The timestamptz column whose UTC day is the record's daily partition."""
    queries: tuple[Mapping[str, str], ...] = field(default=({},))
    """Query parameters of each request sequence (custom fields are listed per object type)."""
    preview_columns: tuple[str, ...] = ("id",)
    soft_delete: bool = False
    """Records gone upstream are marked in `_deleted_at` (see `assets/issue_deletions.py`)."""
    indexes: tuple[tuple[str, ...], ...] = ()
    """Indexes the table's readers need besides its key (see `tablespec.Index`)."""

    @property
    def parent_key(self) -> str | None:
        """The column holding the parent's id: `issue_id` for children of `issues`."""
        return f"{self.parent.removesuffix('s')}_id" if self.parent else None

    @property
    def table(self) -> TableSpec:
        return TableSpec(
            self.name,
            self.mode,
            self.columns,
            self.description,
            key=self.key,
            parent_key=self.parent_key,
            version=self.version,
            history=self.history,
            partition_column=self.partition_column,
            soft_delete=self.soft_delete,
            indexes=self.indexes,
        )


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
    ts("created_at"),
    ts("updated_at", description="Last change of the issue; orders its versions."),
    ts("first_response_time"),
    col("first_response_seconds", "bigint"),
    col("business_hours_first_response_seconds", "bigint"),
    ts("resolution_time"),
    col("resolution_seconds", "bigint"),
    col("business_hours_resolution_seconds", "bigint"),
    ts("latest_message_time"),
    ts("snoozed_until_time"),
    col("number_of_touches", "bigint"),
    col("customer_portal_visible", "boolean"),
    col("is_issue_group", "boolean"),
)

ISSUES_HISTORY = TableSpec(
    "issues_history",
    WriteMode.APPEND,
    # The fields whose changes people follow, defined exactly as in `issues`.
    tuple(
        c
        for c in ISSUE_COLUMNS
        if c.name in {"updated_at", "number", "state", "assignee_id", "team_id"}
    ),
    "Every version of every issue seen, one row per (id, updated_at).",
    version="updated_at",
    # The metrics' read of the versions inside some days (analytics/day_scope.py).
    indexes=(("updated_at",),),
)
"""Not a stream of its own: every version loaded into `issues` is also appended here."""

STREAMS: dict[str, Stream] = {
    stream.name: stream
    for stream in (
        Stream(
            "issues",
            endpoints.ISSUES_SEARCH,
            "Pylon issues (tickets) whose `updated_at` falls in the partition's days, upserted "
            "by id: a stored issue is only replaced by an equal or newer `updated_at`. Every "
            "version seen is also kept in `issues_history`. An issue deleted in Pylon keeps its "
            "row, marked in `_deleted_at`.",
            WriteMode.MERGE,
            ISSUE_COLUMNS,
            group=ISSUES_GROUP,
            version="updated_at",
            history=ISSUES_HISTORY.name,
            partition_column="updated_at",
            preview_columns=("id", "number", "title", "state", "updated_at"),
            soft_delete=True,
            # The Custom App's reads (webapp/queries.py): an account's issues (all, or since a
            # date), newest first, and the newest of one of its requesters.
            indexes=(
                ("account_id", "created_at DESC NULLS LAST", "number DESC NULLS LAST"),
                (
                    "account_id",
                    "requester_id",
                    "created_at DESC NULLS LAST",
                    "number DESC NULLS LAST",
                ),
                # The metrics' reads (analytics/day_scope.py): the issues whose events fall in
                # some days, and the open backlog.
                ("created_at",),
                ("first_response_time",),
                ("resolution_time",),
                ("state",),
                # The account summary's: the issues written since its previous run.
                ("_synced_at",),
            ),
        ),
        Stream(
            "issue_messages",
            endpoints.ISSUE_MESSAGES,
            "Messages (replies and internal notes) of each issue, with `issue_id` added; "
            "`message_html` is in `raw`.",
            WriteMode.REPLACE_PER_PARENT,
            (
                ts("timestamp", description="When the message was sent."),
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
            group=ISSUES_GROUP,
            parent="issues",
        ),
        Stream(
            "issue_threads",
            endpoints.ISSUE_THREADS,
            "Internal note threads of each issue.",
            WriteMode.REPLACE_PER_PARENT,
            (col("name"), col("source"), col("channel_id"), col("thread_id")),
            group=ISSUES_GROUP,
            parent="issues",
        ),
        Stream(
            "accounts",
            endpoints.ACCOUNTS,
            "Customer accounts.",
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
                ts("created_at"),
                ts("updated_at"),
                ts("latest_customer_activity_time"),
            ),
            preview_columns=("id", "name", "domain"),
        ),
        Stream(
            "contacts",
            endpoints.CONTACTS,
            "Contacts (end customers) with their account.",
            WriteMode.REPLACE,
            (
                col("name"),
                col("email"),
                col("account_id", path="account.id"),
                col("portal_role", description="no_access, member or admin."),
                col("portal_role_id"),
                col("primary_phone_number"),
            ),
            preview_columns=("id", "name", "email"),
        ),
        Stream(
            "users",
            endpoints.USERS,
            "Pylon users (agents).",
            WriteMode.REPLACE,
            (
                col("name"),
                col("email"),
                col("role_id"),
                col("status"),
                col("is_deactivated", "boolean"),
            ),
            preview_columns=("id", "name", "email"),
        ),
        Stream(
            "teams",
            endpoints.TEAMS,
            "Support teams and their members.",
            WriteMode.REPLACE,
            (col("name"),),
            preview_columns=("id", "name"),
        ),
        Stream(
            "tags",
            endpoints.TAGS,
            "Tags of issues, accounts and articles.",
            WriteMode.REPLACE,
            (col("value"), col("hex_color"), col("object_type")),
            preview_columns=("id", "value", "object_type"),
        ),
        Stream(
            "custom_fields",
            endpoints.CUSTOM_FIELDS,
            "Custom field definitions for accounts, issues and contacts.",
            WriteMode.REPLACE,
            (
                col("slug"),
                col("label"),
                col("description"),
                col("type"),
                col("object_type"),
                col("source"),
                col("is_read_only", "boolean"),
                ts("created_at"),
                ts("updated_at"),
            ),
            queries=tuple({"object_type": t} for t in ("account", "issue", "contact")),
            preview_columns=("id", "slug", "object_type"),
        ),
        Stream(
            "ticket_forms",
            endpoints.TICKET_FORMS,
            "Ticket forms; their fields are in `raw`.",
            WriteMode.REPLACE,
            (col("name"), col("slug"), col("url"), col("is_public", "boolean")),
            preview_columns=("id", "name"),
        ),
        Stream(
            "user_roles",
            endpoints.USER_ROLES,
            "User roles.",
            WriteMode.REPLACE,
            (col("name"), col("slug")),
            preview_columns=("id", "name", "slug"),
        ),
        Stream(
            "activity_types",
            endpoints.ACTIVITY_TYPES,
            "Account activity types.",
            WriteMode.REPLACE,
            (col("label"), col("slug"), col("icon_url")),
            preview_columns=("id", "label", "slug"),
        ),
        Stream(
            "issue_statuses",
            endpoints.ISSUE_STATUSES,
            "Issue statuses, keyed by slug, with their category (open, closed, ...).",
            WriteMode.REPLACE,
            (
                col("label"),
                col("category"),
                col("is_default_status", "boolean"),
                col("is_archived", "boolean"),
            ),
            key="slug",
            preview_columns=("slug", "label", "category"),
        ),
        Stream(
            "tasks",
            endpoints.TASKS,
            "Tasks (customer-facing to-dos, optionally in projects and milestones).",
            WriteMode.REPLACE,
            (
                col("title"),
                col("status", description="not_started, in_progress or completed."),
                col("account_id", path="account.id"),
                col("assignee_user_id", path="assignee.user.id"),
                col("assignee_contact_id", path="assignee.contact.id"),
                col("project_id", path="project.id"),
                col("milestone_id", path="milestone.id"),
                col("parent_task_id"),
                col("customer_portal_visible", "boolean"),
                ts("due_date"),
                ts("completed_at"),
                ts("created_at"),
                ts("updated_at"),
            ),
            preview_columns=("id", "title", "status"),
        ),
        Stream(
            "knowledge_bases",
            endpoints.KNOWLEDGE_BASES,
            "Knowledge bases.",
            WriteMode.REPLACE,
            (
                col("title"),
                col("slug"),
                col("default_language"),
                col("supported_languages", "text[]"),
            ),
            group=KNOWLEDGE_BASE_GROUP,
            preview_columns=("id", "title", "slug"),
        ),
        Stream(
            "knowledge_base_articles",
            endpoints.KNOWLEDGE_BASE_ARTICLES,
            "Articles of every knowledge base, drafts and published content (HTML in `raw`).",
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
                ts("created_at"),
                ts("last_published_at"),
                ts("last_edited_at"),
            ),
            group=KNOWLEDGE_BASE_GROUP,
            parent="knowledge_bases",
        ),
        Stream(
            "knowledge_base_collections",
            endpoints.KNOWLEDGE_BASE_COLLECTIONS,
            "Collections (folders) of every knowledge base.",
            WriteMode.REPLACE_PER_PARENT,
            (
                col("title"),
                col("slug"),
                col("description"),
                col("parent_collection_id"),
                ts("created_at"),
            ),
            group=KNOWLEDGE_BASE_GROUP,
            parent="knowledge_bases",
        ),
    )
}


def stream(name: str) -> Stream:
    try:
        return STREAMS[name]
    except KeyError:
        raise KeyError(f"no stream {name!r}; known: {', '.join(STREAMS)}") from None


def children_of(parent: str) -> list[Stream]:
    """The streams fetched once per record of `parent`."""
    return [s for s in STREAMS.values() if s.parent == parent]


def full_refresh_streams() -> list[Stream]:
    """Streams read whole on every run: no parent, no time filter."""
    return [s for s in STREAMS.values() if s.parent is None and s.mode is WriteMode.REPLACE]
