"""Reference streams: small full-refresh tables (accounts, contacts, users, ...), replaced each run.

Pylon offers no time filter on these, so each run reads the whole list and the table ends up holding
exactly the latest snapshot.
"""

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from pylon_dagster.assets.common import (
    KINDS,
    OWNERS,
    PYLON_POOL,
    PYLON_RETRY_POLICY,
    PreviewTap,
    asset_key,
    fail_fast_on_permanent_errors,
    materialization_metadata,
    table_metadata,
)
from pylon_dagster.pylon import endpoints
from pylon_dagster.pylon.endpoints import Endpoint
from pylon_dagster.pylon.resource import PylonResource
from pylon_dagster.warehouse import PostgresWarehouse


@dataclass(frozen=True)
class ReferenceStream:
    table: str
    endpoint: Endpoint
    description: str
    group: str = "pylon_reference"
    # One request sequence per entry: custom fields are listed once per object type.
    queries: Sequence[Mapping[str, str]] = field(default_factory=lambda: ({},))
    preview_columns: Sequence[str] = ("id", "name")


REFERENCE_STREAMS = (
    ReferenceStream(
        "accounts",
        endpoints.ACCOUNTS,
        "Customer accounts.",
        preview_columns=("id", "name", "domain"),
    ),
    ReferenceStream(
        "contacts",
        endpoints.CONTACTS,
        "Contacts (end customers) with their account.",
        preview_columns=("id", "name", "email"),
    ),
    ReferenceStream(
        "users", endpoints.USERS, "Pylon users (agents).", preview_columns=("id", "name", "email")
    ),
    ReferenceStream("teams", endpoints.TEAMS, "Support teams and their members."),
    ReferenceStream(
        "tags",
        endpoints.TAGS,
        "Tags of issues, accounts and articles.",
        preview_columns=("id", "value", "object_type"),
    ),
    ReferenceStream(
        "custom_fields",
        endpoints.CUSTOM_FIELDS,
        "Custom field definitions for accounts, issues and contacts.",
        queries=tuple({"object_type": t} for t in ("account", "issue", "contact")),
        preview_columns=("id", "slug", "object_type"),
    ),
    ReferenceStream("ticket_forms", endpoints.TICKET_FORMS, "Ticket forms and their fields."),
    ReferenceStream(
        "user_roles", endpoints.USER_ROLES, "User roles.", preview_columns=("id", "name", "slug")
    ),
    ReferenceStream(
        "activity_types",
        endpoints.ACTIVITY_TYPES,
        "Account activity types.",
        preview_columns=("id", "label", "slug"),
    ),
    ReferenceStream(
        "issue_statuses",
        endpoints.ISSUE_STATUSES,
        "Issue statuses (keyed by slug).",
        preview_columns=("slug", "label", "category"),
    ),
    ReferenceStream(
        "knowledge_bases",
        endpoints.KNOWLEDGE_BASES,
        "Knowledge bases.",
        group="pylon_knowledge_base",
        preview_columns=("id", "title", "slug"),
    ),
)


def build_reference_asset(stream: ReferenceStream) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(stream.table),
        group_name=stream.group,
        description=f"{stream.description} Full refresh from `{stream.endpoint.key}`.",
        pool=PYLON_POOL,
        retry_policy=PYLON_RETRY_POLICY,
        kinds=KINDS,
        owners=OWNERS,
        metadata=table_metadata(stream.table),
    )
    def _reference_asset(
        pylon: PylonResource, warehouse: PostgresWarehouse
    ) -> dg.MaterializeResult:
        warehouse.ensure_tables()
        preview = PreviewTap()
        with (
            fail_fast_on_permanent_errors(),
            pylon.get_client() as client,
            warehouse.transaction() as tx,
        ):
            pages = itertools.chain.from_iterable(
                client.iter_pages(stream.endpoint, params=query) for query in stream.queries
            )
            load = tx.load(stream.table, preview(pages))
        return dg.MaterializeResult(
            metadata=materialization_metadata(
                load, client.stats, preview=preview.rows, preview_columns=stream.preview_columns
            )
        )

    return _reference_asset


reference_assets = [build_reference_asset(stream) for stream in REFERENCE_STREAMS]
