"""The issue sidebar: what a `fetch_data` request shows, decided from the warehouse.

Pylon sends the issue, its account and its requester. The warehouse may disagree with the request
(a stale sync, or a request that names another account than the issue's): then nothing is shown
for the account rather than trusting either side, so one account never sees another's data.

The account's numbers and latest issues are its row of `account_support_summary`, as computed by
that asset. Until the summary has a row for the account, the card says so and the latest issues
are read from `issues` directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from pylon_dagster.webapp.components import (
    AppPayload,
    Badge,
    BadgeColor,
    BadgeItem,
    Button,
    Card,
    DateTime,
    Divider,
    Leaf,
    Text,
)
from pylon_dagster.webapp.queries import (
    AccountSummary,
    IssueSummary,
    Requester,
    SidebarData,
    SidebarQueries,
)

TITLE = "Support history"
NO_DATA = "no data yet"
NOT_COMPUTED = "not computed yet: they appear once `account_support_summary` has run"

STATE_COLORS = {
    "new": BadgeColor.BLUE,
    "waiting_on_you": BadgeColor.ORANGE,
    "waiting_on_customer": BadgeColor.GRAY,
    "on_hold": BadgeColor.GRAY,
    "closed": BadgeColor.GREEN,
}


MAX_PARAMETER_CHARS = 320
"""Longer than any id or e-mail address Pylon sends."""


class BadParameter(ValueError):
    """A `fetch_data` parameter no record could match (its value is never echoed: it may be
    an e-mail address)."""

    def __init__(self, name: str):
        super().__init__(f"malformed parameter {name!r}")
        self.name = name


@dataclass(frozen=True)
class FetchRequest:
    """The ids of a `fetch_data` request; a missing or blank parameter is None."""

    issue_id: str | None = None
    account_id: str | None = None
    requester_id: str | None = None
    requester_email: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, Sequence[str]]) -> FetchRequest:
        def first(name: str) -> str | None:
            value = (params.get(name) or [""])[0].strip()
            if "\x00" in value or len(value) > MAX_PARAMETER_CHARS:
                # Postgres text cannot hold NUL, and no id is that long: the request is malformed.
                raise BadParameter(name)
            return value or None

        return cls(
            issue_id=first("issue_id"),
            account_id=first("account_id"),
            requester_id=first("requester_id"),
            requester_email=first("requester_email"),
        )

    @property
    def requester(self) -> Requester | None:
        if self.requester_id is None and self.requester_email is None:
            return None
        return Requester(id=self.requester_id, email=self.requester_email)


def format_duration(seconds: float | None) -> str:
    """`45s`, `12m`, `3h 05m`, `2d 4h`: precise enough for a sidebar, short enough to fit."""
    if seconds is None:
        return NO_DATA
    total = round(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else f"{secs}s"


def note_card(title: str, message: str) -> Card:
    return Card(title, (Text("Note", message),))


@dataclass(frozen=True)
class Scope:
    """What the sidebar may show: one account, optionally one requester's issues in it."""

    account_id: str
    requester: Requester | None
    notes: tuple[Card, ...] = ()


def resolve_scope(data: SidebarData, request: FetchRequest) -> Scope | Card:
    """The account and requester that both the request and the warehouse agree on, or a card
    explaining why there is nothing to show. (`SidebarQueries.sidebar` reads the data of the
    account this chooses: the issue's account when the warehouse has the issue, else the
    request's.)"""
    account_id, requester, notes = request.account_id, request.requester, ()
    owner = data.owner
    if request.issue_id and owner is None:
        notes = (
            note_card("Not synced yet", "This issue reaches the warehouse with the next sync."),
        )
    elif owner is not None:
        if request.account_id is not None and owner.account_id != request.account_id:
            return note_card(
                "Account mismatch",
                "The warehouse has this issue under another account than the one Pylon sent. "
                "Nothing is shown until the next sync agrees.",
            )
        account_id = owner.account_id
        if requester is not None and not owner.is_requester(requester):
            requester = None
    if account_id is None:
        return note_card("No account", "This issue has no account, so there is no history to show.")
    return Scope(account_id, requester, notes)


def render(queries: SidebarQueries, request: FetchRequest) -> AppPayload:
    """The sidebar of `request`, from one read of the warehouse."""
    data = queries.sidebar(request.issue_id, request.account_id, request.requester)
    scope = resolve_scope(data, request)
    if isinstance(scope, Card):
        return AppPayload(TITLE, (scope,))
    account, stats, latest = data.account, data.summary, data.latest_issues
    if account is None and not latest:
        return AppPayload(
            TITLE,
            (note_card("Unknown account", "The warehouse has no data for this account yet."),),
        )
    title = account.name if account is not None and account.name else scope.account_id
    summary = account_summary(stats)
    if account is not None and (badge := tag_badge("Account tags", account.tags)):
        summary += (badge,)
    cards = [*scope.notes, Card(title, summary), Card("Latest issues", issue_list(latest))]
    if scope.requester is not None:
        cards.append(requester_card(data, scope.requester))
    return AppPayload(TITLE, tuple(cards))


def account_summary(stats: AccountSummary | None) -> tuple[Leaf, ...]:
    """The account's numbers, exactly as `account_support_summary` holds them."""
    if stats is None:
        return (Text("Support metrics", NOT_COMPUTED),)
    summary: list[Leaf] = [Text("Open issues", str(stats.open_issues))]
    if stats.open_by_state:
        items = (
            BadgeItem(f"{state}: {count}", STATE_COLORS.get(state, BadgeColor.GRAY))
            for state, count in stats.open_by_state.items()
        )
        summary.append(Badge("Open by state", tuple(items)))
    summary += [
        Text("Issues in the last 90 days", str(stats.issues_last_90_days)),
        Text(
            "Median first response (90 days)", format_duration(stats.median_first_response_seconds)
        ),
        Text("Median resolution (90 days)", format_duration(stats.median_resolution_seconds)),
    ]
    if stats.computed_at is not None:
        summary.append(DateTime("Metrics as of", stats.computed_at))
    return tuple(summary)


def requester_card(data: SidebarData, requester: Requester) -> Card:
    name = data.requester_name
    return Card(
        f"Requester: {name or requester.email or requester.id}", issue_list(data.requester_issues)
    )


def tag_badge(label: str, tags: Sequence[object]) -> Badge | None:
    """The tags that are text (a hostile record may hold nulls or objects), or None if none is."""
    items = tuple(
        BadgeItem(tag.strip(), BadgeColor.BLUE)
        for tag in tags
        if isinstance(tag, str) and tag.strip()
    )
    return Badge(label, items) if items else None


def issue_list(issues: Sequence[IssueSummary]) -> tuple[Leaf, ...]:
    """Each issue as number, state and title, its creation date, tags and a button to open it."""
    if not issues:
        return (Text("Issues", "none in this account"),)
    components: list[Leaf] = []
    for index, issue in enumerate(issues):
        if index:
            components.append(Divider())
        number = f"#{issue.number}" if issue.number is not None else "Issue"
        components.append(
            Text(f"{number} · {issue.state or 'unknown'}", issue.title or "(no title)")
        )
        if issue.created_at is not None:
            components.append(DateTime("Created", issue.created_at))
        if badge := tag_badge("Tags", issue.tags):
            components.append(badge)
        if issue.link and urlsplit(issue.link).scheme in {"http", "https"}:
            components.append(Button(f"Open {number}", issue.link))
    return tuple(components)
