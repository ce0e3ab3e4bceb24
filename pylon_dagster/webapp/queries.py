"""The warehouse reads behind the issue sidebar. Every value is a bound parameter, and every read
of issues or of the account summary is filtered on one account id, so a query cannot return
another account's rows. The account's numbers come from `account_support_summary` (one row by
its key), never from aggregating `issues` per request. Issues marked deleted in Pylon
(`_deleted_at`, see `assets/issue_deletions.py`) are never shown or counted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, text

from pylon_dagster.analytics.tables import ACCOUNT_SUPPORT_SUMMARY
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
        """An issue of the summary's `latest_issues`."""
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
    latest_issues: tuple[IssueSummary, ...]


class SidebarQueries:
    """Reads on one connection, in one warehouse schema."""

    def __init__(self, connection: Connection, schema: str):
        self._connection = connection
        self._schema = ident(schema)
        # Substituted like {schema}; its own braces are doubled so `format` leaves them.
        self._issues = live_issues(schema).replace("{", "{{").replace("}", "}}")

    def _rows(self, sql: str, **params: object) -> list[Row[Any]]:
        query = sql.format(schema=self._schema, issues=self._issues)
        return list(self._connection.execute(text(query), params))

    def issue_owner(self, issue_id: str) -> IssueOwner | None:
        # Not filtered on `_deleted_at`: Pylon is showing this issue, so it exists (a mark on it is
        # undone by the next deletion pass), and its owner still decides the account shown.
        rows = self._rows(
            "SELECT account_id, requester_id, requester_email FROM {schema}.issues "
            "WHERE id = :issue_id",
            issue_id=issue_id,
        )
        return IssueOwner(*rows[0]) if rows else None

    def account(self, account_id: str) -> Account | None:
        rows = self._rows(
            "SELECT id, name, tags FROM {schema}.accounts WHERE id = :account_id",
            account_id=account_id,
        )
        return Account(rows[0].id, rows[0].name, tuple(rows[0].tags or ())) if rows else None

    def requester_name(self, requester_id: str, account_id: str) -> str | None:
        rows = self._rows(
            "SELECT name FROM {schema}.contacts WHERE id = :requester_id "
            "AND account_id = :account_id",
            requester_id=requester_id,
            account_id=account_id,
        )
        return rows[0].name if rows else None

    def account_summary(self, account_id: str) -> AccountSummary | None:
        """The account's summary, or None until `account_support_summary` has a row for it."""
        rows = self._rows(
            f"SELECT {python_timestamp('computed_at')} AS computed_at, open_issues, open_by_state, issues_last_90_days, "
            "median_first_response_seconds, median_resolution_seconds, latest_issues "
            f"FROM {{schema}}.{ACCOUNT_SUPPORT_SUMMARY.name} WHERE account_id = :account_id",
            account_id=account_id,
        )
        if not rows:
            return None
        row = rows[0]
        by_state = sorted((row.open_by_state or {}).items(), key=lambda item: (-item[1], item[0]))
        return AccountSummary(
            computed_at=row.computed_at,
            open_issues=row.open_issues or 0,
            open_by_state=dict(by_state),
            issues_last_90_days=row.issues_last_90_days or 0,
            median_first_response_seconds=row.median_first_response_seconds,
            median_resolution_seconds=row.median_resolution_seconds,
            latest_issues=tuple(IssueSummary.from_json(i) for i in row.latest_issues or ()),
        )

    def latest_issues(
        self, account_id: str, limit: int, requester: Requester | None = None
    ) -> list[IssueSummary]:
        """The account's newest issues, optionally only those of one requester."""
        params: dict[str, object] = {"account_id": account_id, "limit": limit}
        of_requester = ""
        if requester is not None and requester.id is not None:
            of_requester = "AND requester_id = :requester_id "
            params["requester_id"] = requester.id
        elif requester is not None:
            of_requester = "AND lower(requester_email) = lower(:requester_email) "
            params["requester_email"] = requester.email
        rows = self._rows(
            # A time Postgres stores but Python cannot hold (a BC date, year 10000) shows as none.
            "SELECT number, title, state, link, tags, "
            f"{python_timestamp('created_at')} AS created_at "
            "FROM {issues} AS i "
            "WHERE account_id = :account_id "
            + of_requester
            + "ORDER BY created_at DESC NULLS LAST, number DESC NULLS LAST LIMIT :limit",
            **params,
        )
        return [
            IssueSummary(r.number, r.title, r.state, r.created_at, r.link, tuple(r.tags or ()))
            for r in rows
        ]
