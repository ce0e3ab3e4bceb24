"""The emulator's live data: what the API serves, the mutations tests make, and the ground truth.

Records are never changed in place: a mutation replaces the issue (and its message list) with new
objects, so a response being serialised while a test mutates from another thread stays consistent,
and the `Dataset` handed in is never modified.
"""

from __future__ import annotations

import copy
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pylon_dagster.pylon.timestamps import format_timestamp, parse_timestamp
from pylon_emulator.dataset import (
    Dataset,
    issue_template,
    message_template,
)
from pylon_emulator.filters import Filter
from pylon_emulator.pagination import Page, SortedRecords

Record = dict[str, Any]

LIST_STREAMS = (
    "accounts",
    "contacts",
    "users",
    "teams",
    "tags",
    "custom_fields",
    "issue_statuses",
    "ticket_forms",
    "user_roles",
    "activity_types",
    "knowledge_bases",
    "issues",
    "tasks",
)
CHILD_STREAMS = (
    "issue_messages",
    "issue_threads",
    "knowledge_base_articles",
    "knowledge_base_collections",
)
STREAMS = LIST_STREAMS + CHILD_STREAMS
"""Stream names for `truth()`, named like the warehouse tables."""

_READ_ONLY_ISSUE_FIELDS = frozenset({"id", "number", "created_at", "updated_at"})
_MESSAGE_FIELDS = frozenset(message_template("", "", "", {}, "").keys()) - {"id", "timestamp"}


class UnknownIssueError(LookupError):
    """No issue has this id (or number)."""


@dataclass(frozen=True)
class _DeletedIssue:
    issue: Record
    messages: SortedRecords
    threads: list[Record]


def _search_key(issue: Record) -> tuple[str, str]:
    return issue["updated_at"], issue["id"]


def _created_key(record: Record) -> tuple[str, str]:
    return record["created_at"], record["id"]


def _message_key(message: Record) -> tuple[str, str]:
    return message["timestamp"], message["id"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EmulatorStore:
    """Thread-safe reads and mutations over one dataset."""

    def __init__(self, dataset: Dataset, *, clock: Callable[[], datetime] = _utc_now):
        self._lock = threading.Lock()
        self._clock = clock
        self._rng = random.Random(dataset.organization["id"])
        self.organization = dataset.organization
        self.accounts = SortedRecords(dataset.accounts, _created_key)
        self.tasks = SortedRecords(dataset.tasks, _created_key)
        self.contacts = SortedRecords(dataset.contacts, lambda contact: (contact["id"],))
        self._contact_names = {contact["id"]: contact["name"] for contact in dataset.contacts}
        self.custom_fields = dataset.custom_fields
        self.issue_custom_field_slugs = frozenset(
            field["slug"] for field in dataset.custom_fields if field["object_type"] == "issue"
        )
        self.articles = {
            kb_id: SortedRecords(articles, _created_key)
            for kb_id, articles in dataset.articles.items()
        }
        self.collections = dict(dataset.collections)
        self._unpaginated = {
            "users": dataset.users,
            "teams": dataset.teams,
            "tags": dataset.tags,
            "issue_statuses": dataset.issue_statuses,
            "ticket_forms": dataset.ticket_forms,
            "user_roles": dataset.user_roles,
            "activity_types": dataset.activity_types,
            "knowledge_bases": dataset.knowledge_bases,
        }
        self._issues = {issue["id"]: issue for issue in dataset.issues}
        self._ids_by_number = {issue["number"]: issue["id"] for issue in dataset.issues}
        self._messages = {
            issue_id: SortedRecords(messages, _message_key)
            for issue_id, messages in dataset.messages.items()
        }
        self._threads = dict(dataset.threads)
        self._deleted: dict[str, _DeletedIssue] = {}
        self._search_order: SortedRecords | None = None
        self._latest_update = max(
            (parse_timestamp(issue["updated_at"]) for issue in dataset.issues),
            default=None,
        )

    # -- reads -----------------------------------------------------------------------------------

    def unpaginated(self, stream: str) -> list[Record]:
        """A stream Pylon returns whole: users, teams, tags, issue_statuses, ..."""
        return self._unpaginated[stream]

    def find_issue(self, id_or_number: str) -> Record | None:
        """By id, or by number as `/issues/{id}` also accepts."""
        with self._lock:
            issue = self._issues.get(id_or_number)
            if issue is None and id_or_number.isdigit():
                issue = self._issues.get(self._ids_by_number.get(int(id_or_number), ""))
            return issue

    def search(self, tree: Filter | None, cursor: str | None, limit: int) -> Page:
        """Issues matching `tree`, ordered by `updated_at` then `id`."""
        with self._lock:
            if self._search_order is None:
                self._search_order = SortedRecords(self._issues.values(), _search_key)
            order = self._search_order
        return order.page(cursor, limit, None if tree is None else tree.matches)

    def messages_of(self, issue_id: str) -> SortedRecords | None:
        """An issue's messages, oldest first; None once the issue is gone."""
        with self._lock:
            return self._messages.get(issue_id)

    def threads_of(self, issue_id: str) -> list[Record] | None:
        with self._lock:
            return self._threads.get(issue_id)

    def truth(self, stream: str) -> list[Record] | dict[str, list[Record]]:
        """What the API serves for `stream`, in the order it serves it (a deep copy).

        Child streams are dicts keyed by parent id (issue or knowledge base).
        """
        with self._lock:
            served: Any = {
                "accounts": self.accounts.records,
                "contacts": self.contacts.records,
                "custom_fields": self.custom_fields,
                "issues": sorted(self._issues.values(), key=_search_key),
                "tasks": self.tasks.records,
                "issue_messages": {i: m.records for i, m in self._messages.items()},
                "issue_threads": self._threads,
                "knowledge_base_articles": {kb: a.records for kb, a in self.articles.items()},
                "knowledge_base_collections": self.collections,
                **self._unpaginated,
            }.get(stream)
            if served is None:
                raise ValueError(f"unknown stream {stream!r}; known: {', '.join(STREAMS)}")
            return copy.deepcopy(served)

    # -- mutations -------------------------------------------------------------------------------

    def update_issue(self, issue_id: str, fields: dict[str, Any]) -> Record:
        """Change fields of an issue; its `updated_at` becomes now (later than any other issue's)."""
        _check_issue_fields(fields)
        with self._lock:
            current = self._require(issue_id)
            updated = {**current, **copy.deepcopy(fields), "updated_at": self._next_timestamp()}
            self._put(updated)
            return copy.deepcopy(updated)

    def create_issue(self, fields: dict[str, Any]) -> Record:
        """A new issue, numbered after the last one, with no messages or threads yet."""
        _check_issue_fields(fields)
        with self._lock:
            number = max(self._ids_by_number, default=0) + 1
            issue = issue_template(self._new_id(), number, self._next_timestamp())
            issue.update(copy.deepcopy(fields))
            self._ids_by_number[number] = issue["id"]
            self._messages[issue["id"]] = SortedRecords([], _message_key)
            self._threads[issue["id"]] = []
            self._put(issue)
            return copy.deepcopy(issue)

    def add_message(self, issue_id: str, fields: dict[str, Any]) -> Record:
        """Append a message (by default from the requester) and bump the issue, as Pylon does."""
        unknown = set(fields) - _MESSAGE_FIELDS
        if unknown:
            raise ValueError(f"unknown message field(s): {', '.join(sorted(unknown))}")
        with self._lock:
            issue = self._require(issue_id)
            timestamp = self._next_timestamp()
            requester = issue["requester"]
            author = {
                "name": self._contact_names.get(requester["id"], "") if requester else "API",
                "avatar_url": None,
                "contact": dict(requester) if requester else None,
                "user": None,
            }
            html = "<p>New message from the emulator ✉️</p>"
            message = message_template(self._new_id(), timestamp, html, author, issue["source"])
            message.update(copy.deepcopy(fields))
            messages = self._messages[issue["id"]]
            self._messages[issue["id"]] = SortedRecords([*messages.records, message], _message_key)
            self._put(
                {
                    **issue,
                    "updated_at": timestamp,
                    "latest_message_time": timestamp,
                    "number_of_touches": issue["number_of_touches"] + 1,
                }
            )
            return copy.deepcopy(message)

    def delete_issue(self, issue_id: str) -> Record:
        """Remove an issue with its messages and threads, as Pylon deletes one: it leaves every
        search, and it, its messages and its threads answer 404. Kept aside for `restore_issue`."""
        with self._lock:
            issue = self._require(issue_id)
            del self._issues[issue["id"]]
            del self._ids_by_number[issue["number"]]
            self._deleted[issue["id"]] = _DeletedIssue(
                issue, self._messages.pop(issue["id"]), self._threads.pop(issue["id"])
            )
            self._search_order = None
            return copy.deepcopy(issue)

    def restore_issue(self, issue_id: str) -> Record:
        """Bring a deleted issue back exactly as it was (same `updated_at`, messages, threads)."""
        with self._lock:
            deleted = self._deleted.pop(issue_id, None)
            if deleted is None:
                raise UnknownIssueError(f"no deleted issue with id {issue_id!r}")
            issue = deleted.issue
            self._ids_by_number[issue["number"]] = issue["id"]
            self._messages[issue["id"]] = deleted.messages
            self._threads[issue["id"]] = deleted.threads
            self._put(issue)
            return copy.deepcopy(issue)

    # -- helpers (called with the lock held) -------------------------------------------------------

    def _require(self, issue_id: str) -> Record:
        issue = self._issues.get(issue_id)
        if issue is None:
            raise UnknownIssueError(f"no issue with id {issue_id!r}")
        return issue

    def _put(self, issue: Record) -> None:
        self._issues[issue["id"]] = issue
        self._search_order = None

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _next_timestamp(self) -> str:
        """Now, to the second, but always after every `updated_at` served so far."""
        now = self._clock().astimezone(UTC).replace(microsecond=0)
        if self._latest_update is not None and now <= self._latest_update:
            now = self._latest_update + timedelta(seconds=1)
        self._latest_update = now
        return format_timestamp(now)


def _check_issue_fields(fields: dict[str, Any]) -> None:
    template = issue_template("", 0, "")
    unknown = set(fields) - set(template)
    if unknown:
        raise ValueError(f"unknown issue field(s): {', '.join(sorted(unknown))}")
    read_only = set(fields) & _READ_ONLY_ISSUE_FIELDS
    if read_only:
        raise ValueError(f"read-only issue field(s): {', '.join(sorted(read_only))}")
