"""The Pylon API endpoints this project reads, with their published per-minute rate limits.

Pylon limits requests per organization, per endpoint, per minute. The figures changed between the
April 2026 spec and the October 2026 SDK (10 became 30, 20 became 120, 60 became 300), so both are
kept as presets. The client's rate budget starts from the newest (`pylon/budget.py`); the emulator
enforces either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

ApiVersion = Literal["2026-04", "2026-10"]
LATEST_API_VERSION: ApiVersion = "2026-10"
"""Pylon's newest published limits: where the client starts when told nothing."""


@dataclass(frozen=True)
class Endpoint:
    """One rate-limited route: an HTTP method and a path template such as `/issues/{id}/messages`."""

    method: str
    path: str

    @property
    def key(self) -> str:
        """The name that rate limits and counters use, e.g. `GET /issues/{id}/messages`."""
        return f"{self.method} {self.path}"

    def url_path(self, **params: str) -> str:
        """The path with each parameter as one path segment (see `path_segment`)."""
        return self.path.format(**{name: path_segment(value) for name, value in params.items()})


def path_segment(value: str) -> str:
    """`value` percent-encoded as exactly one path segment.

    Ids come from Pylon's answers, so they are data, never path: `../../accounts` must not climb
    to `/accounts`, nor `x?cursor=evil` start a query. `.` and `..` are encoded too (`%2E`):
    httpx, like every URL library, would otherwise resolve them as dot segments.
    """
    if not value:
        raise ValueError("an empty id cannot name a path segment")
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


ME = Endpoint("GET", "/me")
ISSUES_SEARCH = Endpoint("POST", "/issues/search")
ISSUE = Endpoint("GET", "/issues/{id}")
ISSUE_MESSAGES = Endpoint("GET", "/issues/{id}/messages")
ISSUE_THREADS = Endpoint("GET", "/issues/{id}/threads")
ACCOUNTS = Endpoint("GET", "/accounts")
CONTACTS = Endpoint("GET", "/contacts")
USERS = Endpoint("GET", "/users")
TEAMS = Endpoint("GET", "/teams")
TAGS = Endpoint("GET", "/tags")
CUSTOM_FIELDS = Endpoint("GET", "/custom-fields")
TICKET_FORMS = Endpoint("GET", "/ticket-forms")
USER_ROLES = Endpoint("GET", "/user-roles")
ACTIVITY_TYPES = Endpoint("GET", "/activity-types")
ISSUE_STATUSES = Endpoint("GET", "/issue-statuses")
KNOWLEDGE_BASES = Endpoint("GET", "/knowledge-bases")
KNOWLEDGE_BASE_ARTICLES = Endpoint("GET", "/knowledge-bases/{id}/articles")
KNOWLEDGE_BASE_COLLECTIONS = Endpoint("GET", "/knowledge-bases/{id}/collections")
TASKS = Endpoint("GET", "/tasks")

ALL_ENDPOINTS: tuple[Endpoint, ...] = (
    ME,
    ISSUES_SEARCH,
    ISSUE,
    ISSUE_MESSAGES,
    ISSUE_THREADS,
    ACCOUNTS,
    CONTACTS,
    USERS,
    TEAMS,
    TAGS,
    CUSTOM_FIELDS,
    TICKET_FORMS,
    USER_ROLES,
    ACTIVITY_TYPES,
    ISSUE_STATUSES,
    KNOWLEDGE_BASES,
    KNOWLEDGE_BASE_ARTICLES,
    KNOWLEDGE_BASE_COLLECTIONS,
    TASKS,
)

_APRIL_2026_SPECIAL = {
    ISSUES_SEARCH.key: 20,
    ISSUE_MESSAGES.key: 20,
    ISSUE_THREADS.key: 20,
    KNOWLEDGE_BASE_ARTICLES.key: 20,
    KNOWLEDGE_BASE_COLLECTIONS.key: 20,
    ISSUE_STATUSES.key: 10,
    ACTIVITY_TYPES.key: 10,
}
_APRIL_TO_OCTOBER = {10: 30, 20: 120, 60: 300}

RATE_LIMITS_PER_MINUTE: dict[ApiVersion, dict[str, int]] = {
    "2026-04": {e.key: _APRIL_2026_SPECIAL.get(e.key, 60) for e in ALL_ENDPOINTS},
}
RATE_LIMITS_PER_MINUTE["2026-10"] = {
    key: _APRIL_TO_OCTOBER[limit] for key, limit in RATE_LIMITS_PER_MINUTE["2026-04"].items()
}
