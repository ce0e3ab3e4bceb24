"""The warehouse reads behind the issue sidebar. Every value is a bound parameter, and every read
of issues or of the account summary is filtered on one account id, so a query cannot return
another account's rows. The account's numbers come from `account_support_summary` (one row by
its key), never from aggregating `issues` per request. Issues marked deleted in Pylon
(`_deleted_at`, see `assets/issue_deletions.py`) are never shown or counted.

A sidebar is one statement, one round trip: the issue's owner, the account, its summary row and
the issue lists are joined in SQL (`SidebarQueries.sidebar`). Each part is an indexed lookup, so
the statement costs about what its round trip costs; sent one by one (with a transaction and a
connection check around them: eight round trips), they made most of a sidebar's time and CPU
(README, `scripts/benchmark_app.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any

from sqlalchemy import Connection, TextClause, text

from pylon_dagster.catalog.metric_tables import ACCOUNT_SUPPORT_SUMMARY
from pylon_dagster.warehouse.live import live_issues
from pylon_dagster.warehouse.sql import ident, python_timestamp


@dataclass(frozen=True)
class IssueOwner:
    """Who an issue belongs to according to the warehouse."""

    account_id: str | None
    requester_id: str | None
    requester_email: str | None

    def is_requester(self, requester: Requester) -> bool:
        if requester.id is not None:
            return requester.id == self.requester_id
        return (requester.email or "").lower() == (self.requester_email or "").lower()


@dataclass(frozen=True)
class Account:
    id: str
    name: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Requester:
    """The requester Pylon named: matched by contact id when there is one, else by email."""

    id: str | None
    email: str | None


@dataclass(frozen=True)
class IssueSummary:
    number: int | None
    title: str | None
    state: str | None
    created_at: datetime | None
    link: str | None
    tags: tuple[str, ...]

    @classmethod
    def from_json(cls, issue: Mapping[str, Any]) -> IssueSummary:
        """An issue of the summary's `latest_issues`, or of an issue list read with a sidebar."""
        created_at = issue.get("created_at")
        return cls(
            issue.get("number"),
            issue.get("title"),
            issue.get("state"),
            datetime.fromisoformat(created_at) if created_at else None,
            issue.get("link"),
            tuple(issue.get("tags") or ()),
        )


@dataclass(frozen=True)
class AccountSummary:
    """The account's row of `account_support_summary`."""

    computed_at: datetime | None
    open_issues: int
    open_by_state: dict[str, int]
    """Most frequent state first."""
    issues_last_90_days: int
    median_first_response_seconds: float | None
    median_resolution_seconds: float | None


@dataclass(frozen=True)
class SidebarData:
    """What one sidebar shows, as the warehouse holds it.

    Read for the account the sidebar may show (`sidebar.resolve_scope`): the issue's account when
    the warehouse has the issue, else the account Pylon sent.
    """

    owner: IssueOwner | None
    """None when the request names no issue or the warehouse does not have it."""
    account: Account | None
    summary: AccountSummary | None
    """None until `account_support_summary` has a row for the account."""
    latest_issues: tuple[IssueSummary, ...]
    """The summary's, or read from `issues` until the summary has the account."""
    requester_name: str | None
    """The contact's name, when the request names a requester id."""
    requester_issues: tuple[IssueSummary, ...]
    """The newest issues of the requester Pylon named, in that account."""


class RequesterMatch(Enum):
    """How the requester Pylon named is found: one statement text per way, each with its index."""

    NONE = "none"
    ID = "id"
    EMAIL = "email"

    @classmethod
    def of(cls, requester: Requester | None) -> RequesterMatch:
        if requester is None:
            return cls.NONE
        return cls.ID if requester.id is not None else cls.EMAIL


LATEST_ISSUES = 5
REQUESTER_ISSUES = 5
LATEST_ORDER = "created_at DESC NULLS LAST, number DESC NULLS LAST"
"""Newest first: the order of the declared `issues` indexes (`catalog/streams.py`)."""
REQUESTER_FILTERS = {
    RequesterMatch.ID: "AND requester_id = CAST(:requester_id AS text)",
    RequesterMatch.EMAIL: "AND lower(requester_email) = lower(CAST(:requester_email AS text))",
}


def issue_list_sql(schema: str, account: str, limit: int, requester: RequesterMatch) -> str:
    """A jsonb array (never null) of an account's newest live issues, as `IssueSummary.from_json`
    reads them; optionally only those of the requester named by the statement's parameters."""
    # A time Postgres stores but Python cannot hold (a BC date, year 10000) shows as none.
    issue = (
        "jsonb_build_object('number', number, 'title', title, 'state', state, 'link', link, "
        f"'tags', tags, 'created_at', {python_timestamp('created_at')})"
    )
    return (
        f"(SELECT coalesce(jsonb_agg(issue ORDER BY {LATEST_ORDER}), '[]') FROM ("
        f"SELECT {issue} AS issue, created_at, number FROM {live_issues(schema)} AS i "
        f"WHERE account_id = {account} {REQUESTER_FILTERS.get(requester, '')} "
        f"ORDER BY {LATEST_ORDER} LIMIT {limit:d}) AS latest)"
    )


@cache
def sidebar_statement(schema: str, requester: RequesterMatch) -> TextClause:
    """The one statement of a sidebar (parameters: issue_id, account_id, and the requester's id
    or email): always exactly one row."""
    qualified_schema = ident(schema)
    if requester is RequesterMatch.NONE:
        requester_name, requester_issues = "NULL", "'[]'::jsonb"
    else:
        requester_issues = issue_list_sql(schema, "scope.account_id", REQUESTER_ISSUES, requester)
        requester_name = (
            f"(SELECT name FROM {qualified_schema}.contacts WHERE id = CAST(:requester_id AS text) "
            "AND account_id = scope.account_id)"
            if requester is RequesterMatch.ID
            else "NULL"
        )
    fallback_latest = issue_list_sql(schema, "scope.account_id", LATEST_ISSUES, RequesterMatch.NONE)
    return text(
        # The owner is read whether or not it is marked deleted: Pylon is showing this issue, so
        # it exists (a mark on it is undone by the next deletion pass), and its owner still
        # decides the account shown.
        f"WITH owner AS (SELECT account_id, requester_id, requester_email "
        f"FROM {qualified_schema}.issues WHERE id = CAST(:issue_id AS text)), "
        "scope AS (SELECT CASE WHEN EXISTS (SELECT FROM owner) THEN (SELECT account_id FROM owner) "
        "ELSE CAST(:account_id AS text) END AS account_id) "
        "SELECT EXISTS (SELECT FROM owner) AS owner_found, o.account_id AS owner_account_id, "
        "o.requester_id AS owner_requester_id, o.requester_email AS owner_requester_email, "
        "a.id AS account_id, a.name AS account_name, a.tags AS account_tags, "
        f"s.account_id IS NOT NULL AS summary_found, {python_timestamp('s.computed_at')} "
        "AS computed_at, s.open_issues, s.open_by_state, s.issues_last_90_days, "
        "s.median_first_response_seconds, s.median_resolution_seconds, "
        f"CASE WHEN s.account_id IS NULL THEN {fallback_latest} ELSE s.latest_issues END "
        f"AS latest_issues, {requester_name} AS requester_name, "
        f"{requester_issues} AS requester_issues "
        "FROM scope LEFT JOIN owner AS o ON true "
        f"LEFT JOIN {qualified_schema}.accounts AS a ON a.id = scope.account_id "
        f"LEFT JOIN {qualified_schema}.{ACCOUNT_SUPPORT_SUMMARY.name} AS s "
        "ON s.account_id = scope.account_id"
    )


def issue_summaries(issues: Sequence[Mapping[str, Any]] | None) -> tuple[IssueSummary, ...]:
    return tuple(IssueSummary.from_json(issue) for issue in issues or ())


class SidebarQueries:
    """Reads on one connection, in one warehouse schema."""

    def __init__(self, connection: Connection, schema: str):
        self._connection = connection
        self._schema = schema

    def sidebar(
        self, issue_id: str | None, account_id: str | None, requester: Requester | None
    ) -> SidebarData:
        """Everything a sidebar shows, in one statement."""
        match = RequesterMatch.of(requester)
        row = self._connection.execute(
            sidebar_statement(self._schema, match),
            {
                "issue_id": issue_id,
                "account_id": account_id,
                "requester_id": requester.id if requester else None,
                "requester_email": requester.email if requester else None,
            },
        ).one()
        return SidebarData(
            owner=(
                IssueOwner(row.owner_account_id, row.owner_requester_id, row.owner_requester_email)
                if row.owner_found
                else None
            ),
            account=(
                Account(row.account_id, row.account_name, tuple(row.account_tags or ()))
                if row.account_id is not None
                else None
            ),
            summary=account_summary(row) if row.summary_found else None,
            latest_issues=issue_summaries(row.latest_issues),
            requester_name=row.requester_name,
            requester_issues=issue_summaries(row.requester_issues),
        )

    def latest_issues(self, account_id: str, limit: int) -> list[IssueSummary]:
        """The account's newest issues, as the sidebar lists them until the summary has them."""
        issues = issue_list_sql(self._schema, ":account_id", limit, RequesterMatch.NONE)
        statement = text(f"SELECT {issues}")
        params = {"account_id": account_id}
        return list(issue_summaries(self._connection.execute(statement, params).scalar_one()))


def account_summary(row: Any) -> AccountSummary:
    """The summary columns of a sidebar row."""
    by_state = sorted((row.open_by_state or {}).items(), key=lambda item: (-item[1], item[0]))
    return AccountSummary(
        computed_at=row.computed_at,
        open_issues=row.open_issues or 0,
        open_by_state=dict(by_state),
        issues_last_90_days=row.issues_last_90_days or 0,
        median_first_response_seconds=row.median_first_response_seconds,
        median_resolution_seconds=row.median_resolution_seconds,
    )
