"""The warehouse reads behind the issue sidebar. Every value is a bound parameter, and every read
of issues is filtered on one account id, so a query cannot return another account's rows. Issues
marked deleted in Pylon (`_deleted_at`, see `assets/issue_deletions.py`) are never shown or
counted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, text

from pylon_dagster.warehouse.sql import ident


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
class AccountStats:
    open_by_state: dict[str, int]
    issues_since: int
    median_first_response_seconds: float | None
    median_resolution_seconds: float | None


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


class SidebarQueries:
    """Reads on one connection, in one warehouse schema."""

    def __init__(self, connection: Connection, schema: str):
        self._connection = connection
        self._schema = ident(schema)

    def _rows(self, sql: str, **params: object) -> list[Row[Any]]:
        return list(self._connection.execute(text(sql.format(schema=self._schema)), params))

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

    def account_stats(self, account_id: str, since: datetime) -> AccountStats:
        """Open issues by state (all time), and the count and median times of issues created
        since `since`. Medians skip issues without a first response or resolution yet."""
        open_rows = self._rows(
            "SELECT coalesce(state, 'unknown') AS state, count(*) AS n FROM {schema}.issues "
            "WHERE account_id = :account_id AND state IS DISTINCT FROM 'closed' "
            "AND _deleted_at IS NULL "
            "GROUP BY 1 ORDER BY n DESC, state",
            account_id=account_id,
        )
        (recent,) = self._rows(
            "SELECT count(*) AS n, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_seconds) AS first_response, "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY resolution_seconds) AS resolution "
            "FROM {schema}.issues WHERE account_id = :account_id AND created_at >= :since "
            "AND _deleted_at IS NULL",
            account_id=account_id,
            since=since,
        )
        return AccountStats(
            open_by_state={row.state: row.n for row in open_rows},
            issues_since=recent.n,
            median_first_response_seconds=recent.first_response,
            median_resolution_seconds=recent.resolution,
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
            "SELECT number, title, state, link, tags, CASE WHEN created_at "
            "BETWEEN '0001-01-02' AND '9999-12-30' THEN created_at END AS created_at "
            "FROM {schema}.issues "
            "WHERE account_id = :account_id AND _deleted_at IS NULL "
            + of_requester
            + "ORDER BY created_at DESC NULLS LAST, number DESC NULLS LAST LIMIT :limit",
            **params,
        )
        return [
            IssueSummary(r.number, r.title, r.state, r.created_at, r.link, tuple(r.tags or ()))
            for r in rows
        ]
