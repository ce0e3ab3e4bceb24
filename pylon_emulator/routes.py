"""The Pylon API as the emulator serves it: one handler per endpoint of the client's catalogue.

A handler turns a `Call` into the envelope payload (`data`, plus `pagination` when paginated) or
raises `ApiError`. Auth, rate limits, faults and the `request_id` are the pipeline's job (`app.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request

from pylon_dagster.catalog import endpoints
from pylon_dagster.catalog.endpoints import Endpoint
from pylon_emulator.counters import Counters
from pylon_emulator.faults import Faults
from pylon_emulator.filters import Filter, FilterError, parse_filter, updated_at_bounds
from pylon_emulator.pagination import (
    DEFAULT_LIMIT,
    Page,
    SortedRecords,
    encode_cursor,
    parse_cursor,
    parse_limit,
)
from pylon_emulator.responses import ApiError, json_object_body, new_request_id
from pylon_emulator.store import EmulatorStore

Payload = dict[str, Any]
CUSTOM_FIELD_OBJECT_TYPES = (
    "account",
    "issue",
    "contact",
    "task",
    "project",
    "call_recording",
    "meeting",
    "opportunity",
)


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it, with the faults in force when it arrived."""

    request: Request
    body: bytes
    store: EmulatorStore
    faults: Faults
    counters: Counters

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def path(self, name: str) -> str:
        """A path parameter, percent-decoded (routes match the path as sent: `app.py`)."""
        return unquote(self.request.path_params[name])


Handler = Callable[[Call], Payload]


def _not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", "not_found")


def _paged(call: Call, page: Page, cursor: str | None) -> Payload:
    """`data` plus `pagination`; with the endless-cursor fault, a next page that never ends, with
    the malformed-data fault, the records in an object instead of a list."""
    next_cursor = page.next_cursor
    if call.faults.endless_cursor:
        next_cursor = cursor or next_cursor or encode_cursor(("endless",))
    if call.faults.fresh_endless_cursor:
        next_cursor = encode_cursor(("endless", new_request_id()))
    return {
        "data": {"records": page.records} if call.faults.malformed_data else page.records,
        "pagination": {"cursor": next_cursor or "", "has_next_page": next_cursor is not None},
    }


def _paginated_get(call: Call, records: SortedRecords) -> Payload:
    cursor = parse_cursor(call.query("cursor"))
    limit = parse_limit(call.query("limit"), default=DEFAULT_LIMIT)
    return _paged(call, records.page(cursor, limit), cursor)


def _whole(stream: str) -> Handler:
    """An endpoint Pylon does not paginate: everything in `data`."""
    return lambda call: {"data": call.store.unpaginated(stream)}


def me(call: Call) -> Payload:
    return {"data": call.store.organization}


def search_issues(call: Call) -> Payload:
    """Issues matching the filter, by `updated_at` then `id`; an empty result has no `data`."""
    body = json_object_body(call.body)
    cursor = parse_cursor(body.get("cursor"))
    limit = parse_limit(body.get("limit"), default=DEFAULT_LIMIT)
    tree = None
    if body.get("filter") is not None:
        try:
            tree = parse_filter(body["filter"], call.store.issue_custom_field_slugs)
        except FilterError as exc:
            raise ApiError(400, str(exc), "invalid_request_body") from None
    _enforce_window_cap(tree, call.faults.search_window_cap_days)
    cap = call.faults.search_result_cap
    if cap is not None:
        # Cut short: the first `cap` issues, and no next page.
        page = call.store.search(tree, None, max(cap, 1))
        page = Page(page.records[:cap], None)
    else:
        page = call.store.search(tree, cursor, limit)
    if not page.records and cursor is None:
        return {}  # what Pylon sends for an empty search: neither data nor pagination
    return _paged(call, page, cursor)


def _enforce_window_cap(tree: Filter | None, cap_days: float | None) -> None:
    if tree is None or cap_days is None:
        return
    bounds = updated_at_bounds(tree)
    if bounds is None:
        return  # the search does not filter on updated_at at all
    start, end = bounds
    cap = timedelta(days=cap_days)
    if start is None or end is None or end - start > cap:
        span = "unbounded" if start is None or end is None else str(end - start)
        raise ApiError(
            400,
            f"the updated_at range of a search can span at most {cap_days:g} days "
            f"(this one: {span})",
            "invalid_request_body",
        )


def get_issue(call: Call) -> Payload:
    issue = call.store.find_issue(call.path("id"))
    if issue is None:
        raise _not_found("Issue")
    return {"data": issue}


def _child_parent(call: Call, child: str) -> str:
    """The id of the issue whose children are asked for; 404 if it is gone (or made to look so)."""
    requested = call.path("id")
    issue = call.store.find_issue(requested)
    issue_id = issue["id"] if issue else requested
    if not call.query("cursor"):
        call.counters.count_child_fetch(issue_id, child)
    if issue is None or {requested, issue_id} & call.faults.child_404_for:
        raise _not_found("Issue")
    return issue_id


def issue_messages(call: Call) -> Payload:
    """Oldest first. Paginated when `limit` or `cursor` is sent, else everything (October API)."""
    messages = call.store.messages_of(_child_parent(call, "messages"))
    if messages is None:
        raise _not_found("Issue")
    if call.query("limit") is None and call.query("cursor") is None:
        return {"data": messages.records}
    return _paginated_get(call, messages)


def issue_threads(call: Call) -> Payload:
    threads = call.store.threads_of(_child_parent(call, "threads"))
    if threads is None:
        raise _not_found("Issue")
    return {"data": threads}


def accounts(call: Call) -> Payload:
    return _paginated_get(call, call.store.accounts)


def contacts(call: Call) -> Payload:
    return _paginated_get(call, call.store.contacts)


def tasks(call: Call) -> Payload:
    return _paginated_get(call, call.store.tasks)


def custom_fields(call: Call) -> Payload:
    object_type = call.query("object_type")
    if not object_type:
        raise ApiError(400, "object_type is required", "invalid_request_body")
    if object_type not in CUSTOM_FIELD_OBJECT_TYPES:
        raise ApiError(
            400,
            f"object_type {object_type!r} is not one of {', '.join(CUSTOM_FIELD_OBJECT_TYPES)}",
            "invalid_request_body",
        )
    return {"data": [f for f in call.store.custom_fields if f["object_type"] == object_type]}


def knowledge_base_articles(call: Call) -> Payload:
    articles = call.store.articles.get(call.path("id"))
    if articles is None:
        raise _not_found("Knowledge base")
    return _paginated_get(call, articles)


def knowledge_base_collections(call: Call) -> Payload:
    collections = call.store.collections.get(call.path("id"))
    if collections is None:
        raise _not_found("Knowledge base")
    return {"data": collections}


HANDLERS: dict[Endpoint, Handler] = {
    endpoints.ME: me,
    endpoints.ISSUES_SEARCH: search_issues,
    endpoints.ISSUE: get_issue,
    endpoints.ISSUE_MESSAGES: issue_messages,
    endpoints.ISSUE_THREADS: issue_threads,
    endpoints.ACCOUNTS: accounts,
    endpoints.CONTACTS: contacts,
    endpoints.USERS: _whole("users"),
    endpoints.TEAMS: _whole("teams"),
    endpoints.TAGS: _whole("tags"),
    endpoints.CUSTOM_FIELDS: custom_fields,
    endpoints.TICKET_FORMS: _whole("ticket_forms"),
    endpoints.USER_ROLES: _whole("user_roles"),
    endpoints.ACTIVITY_TYPES: _whole("activity_types"),
    endpoints.ISSUE_STATUSES: _whole("issue_statuses"),
    endpoints.KNOWLEDGE_BASES: _whole("knowledge_bases"),
    endpoints.KNOWLEDGE_BASE_ARTICLES: knowledge_base_articles,
    endpoints.KNOWLEDGE_BASE_COLLECTIONS: knowledge_base_collections,
    endpoints.TASKS: tasks,
}
