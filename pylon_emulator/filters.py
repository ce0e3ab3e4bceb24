"""The `POST /issues/search` filter grammar: parse, validate, evaluate against an issue.

A filter is `{"field", "operator", "value" | "values", "subfilters"}`. `and`/`or` take `subfilters`
and nothing else; the tree is at most 3 levels deep, counting the top. Single-valued operators take
`value`, `in`/`not_in`/`includes_all_of`/`time_range` take `values` (`time_range`: `[start, end]`),
`is_set`/`is_unset` take neither. Each documented issue field accepts only its documented operators;
any other field name must be the slug of an issue custom field.

Pylon does not document whether `time_is_after`, `time_is_before` and `time_range` include their
bounds. Here all three are strict: the worst case for a record sitting exactly on a window boundary,
so a client that survives this emulator survives either behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pylon_dagster.pylon.timestamps import parse_timestamp

Record = dict[str, Any]
MAX_DEPTH = 3

COMPOUND_OPERATORS = frozenset({"and", "or"})
MULTI_VALUED_OPERATORS = frozenset({"in", "not_in", "includes_all_of", "time_range"})
VALUELESS_OPERATORS = frozenset({"is_set", "is_unset"})
SINGLE_VALUED_OPERATORS = frozenset(
    {
        "equals",
        "not_equals",
        "contains",
        "does_not_contain",
        "string_contains",
        "string_does_not_contain",
        "starts_with",
        "ends_with",
        "time_is_after",
        "time_is_before",
        "greater_than",
        "less_than",
        "greater_than_or_equals",
        "less_than_or_equals",
    }
)
ALL_OPERATORS = (
    COMPOUND_OPERATORS | MULTI_VALUED_OPERATORS | VALUELESS_OPERATORS | SINGLE_VALUED_OPERATORS
)
TIME_OPERATORS = frozenset({"time_is_after", "time_is_before", "time_range"})
_ID_OPERATORS = frozenset({"equals", "in", "not_in", "is_set", "is_unset"})
_CHOICE_OPERATORS = frozenset({"equals", "in", "not_in"})
_TEXT_OPERATORS = frozenset({"string_contains", "string_does_not_contain"})
_TAG_OPERATORS = frozenset({"contains", "does_not_contain", "in", "not_in"})


def _nested_id(key: str) -> Callable[[Record], Any]:
    def read(issue: Record) -> Any:
        reference = issue.get(key)
        return reference.get("id") if isinstance(reference, dict) else None

    return read


def _plain(key: str) -> Callable[[Record], Any]:
    return lambda issue: issue.get(key)


def _no_followers(issue: Record) -> None:
    """Followers are not part of the emulated data: every issue has none."""
    return None


@dataclass(frozen=True)
class IssueField:
    operators: frozenset[str]
    read: Callable[[Record], Any]


# The documented searchable issue fields (April 2026 spec, plus `customer_portal_visible` from
# October), with the operators each accepts and where its value lives on the issue object.
ISSUE_FIELDS: dict[str, IssueField] = {
    "created_at": IssueField(TIME_OPERATORS, _plain("created_at")),
    "updated_at": IssueField(TIME_OPERATORS, _plain("updated_at")),
    "resolved_at": IssueField(TIME_OPERATORS, _plain("resolution_time")),
    "latest_message_activity_at": IssueField(TIME_OPERATORS, _plain("latest_message_time")),
    "account_id": IssueField(_ID_OPERATORS, _nested_id("account")),
    "requester_id": IssueField(_ID_OPERATORS, _nested_id("requester")),
    "assignee_id": IssueField(_ID_OPERATORS, _nested_id("assignee")),
    "ticket_form_id": IssueField(_ID_OPERATORS, _plain("ticket_form_id")),
    "issue_type": IssueField(_ID_OPERATORS, _plain("type")),
    "team_id": IssueField(_CHOICE_OPERATORS, _nested_id("team")),
    "state": IssueField(_CHOICE_OPERATORS, _plain("state")),
    "follower_user_id": IssueField(_CHOICE_OPERATORS, _no_followers),
    "follower_contact_id": IssueField(_CHOICE_OPERATORS, _no_followers),
    "tags": IssueField(_TAG_OPERATORS, lambda issue: issue.get("tags") or []),
    "title": IssueField(_TEXT_OPERATORS, _plain("title")),
    "body_html": IssueField(_TEXT_OPERATORS, _plain("body_html")),
    "customer_portal_visible": IssueField(
        frozenset({"equals"}),
        lambda issue: str(bool(issue.get("customer_portal_visible"))).lower(),
    ),
}


class FilterError(ValueError):
    """The filter breaks the grammar; the message is what Pylon's 400 `errors[]` would say."""


@dataclass(frozen=True)
class Condition:
    """A leaf: `field operator value(s)`. Time values are parsed once, at validation."""

    field: str
    operator: str
    read: Callable[[Record], Any]
    value: str | None = None
    values: tuple[str, ...] = ()
    times: tuple[datetime, ...] = ()

    def matches(self, issue: Record) -> bool:
        return _evaluate(self, self.read(issue))


@dataclass(frozen=True)
class Compound:
    """`and` / `or` over subfilters."""

    operator: str
    subfilters: tuple[Filter, ...]

    def matches(self, issue: Record) -> bool:
        results = (subfilter.matches(issue) for subfilter in self.subfilters)
        return all(results) if self.operator == "and" else any(results)


Filter = Condition | Compound


def parse_filter(raw: Any, custom_field_slugs: Collection[str] = ()) -> Filter:
    """Validate a filter tree and compile it for `matches(issue)`; raises `FilterError`."""
    return _parse(raw, depth=1, path="filter", custom_field_slugs=custom_field_slugs)


def _parse(raw: Any, *, depth: int, path: str, custom_field_slugs: Collection[str]) -> Filter:
    if not isinstance(raw, dict):
        raise FilterError(f"{path} must be an object")
    operator = raw.get("operator")
    if operator not in ALL_OPERATORS:
        raise FilterError(f"{path}.operator {operator!r} is not a valid operator")
    subfilters = raw.get("subfilters")
    if operator in COMPOUND_OPERATORS:
        for key in ("field", "value", "values"):
            if raw.get(key) is not None:
                raise FilterError(f"{path}: {key} must not be set for operator {operator!r}")
        if not isinstance(subfilters, list) or not subfilters:
            raise FilterError(f"{path}: operator {operator!r} needs a non-empty list of subfilters")
        if depth >= MAX_DEPTH:
            raise FilterError(f"{path}: the filter tree is deeper than {MAX_DEPTH} levels")
        return Compound(
            operator,
            tuple(
                _parse(
                    sub,
                    depth=depth + 1,
                    path=f"{path}.subfilters[{index}]",
                    custom_field_slugs=custom_field_slugs,
                )
                for index, sub in enumerate(subfilters)
            ),
        )
    if subfilters:
        raise FilterError(f"{path}: subfilters are valid only with operator 'and' or 'or'")
    return _parse_condition(raw, operator, path, custom_field_slugs)


def _parse_condition(
    raw: Record, operator: str, path: str, custom_field_slugs: Collection[str]
) -> Condition:
    field = raw.get("field")
    if not isinstance(field, str) or not field:
        raise FilterError(f"{path}: field is required for operator {operator!r}")
    if field in ISSUE_FIELDS:
        spec = ISSUE_FIELDS[field]
        if operator not in spec.operators:
            allowed = ", ".join(sorted(spec.operators))
            raise FilterError(
                f"{path}: operator {operator!r} is not supported for field {field!r} "
                f"(supported: {allowed})"
            )
        read = spec.read
    elif field in custom_field_slugs:
        read = _custom_field_reader(field)
    else:
        raise FilterError(f"{path}: unknown field {field!r}")
    value, values = raw.get("value"), raw.get("values")
    if operator in VALUELESS_OPERATORS:
        if value is not None or values is not None:
            raise FilterError(f"{path}: operator {operator!r} takes neither value nor values")
        return Condition(field, operator, read)
    if operator in MULTI_VALUED_OPERATORS:
        if value is not None:
            raise FilterError(f"{path}: operator {operator!r} takes values, not value")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise FilterError(f"{path}: operator {operator!r} needs values, a list of strings")
        if operator == "time_range" and len(values) != 2:
            raise FilterError(f"{path}: time_range needs values [start, end]")
        return Condition(
            field, operator, read, values=tuple(values), times=_times(operator, values, path)
        )
    if values is not None:
        raise FilterError(f"{path}: operator {operator!r} takes value, not values")
    if not isinstance(value, str):
        raise FilterError(f"{path}: operator {operator!r} needs value, a string")
    return Condition(field, operator, read, value=value, times=_times(operator, [value], path))


def _times(operator: str, texts: Iterable[str], path: str) -> tuple[datetime, ...]:
    if operator not in TIME_OPERATORS:
        return ()
    times = []
    for text in texts:
        moment = parse_timestamp(text) if "T" in text else None
        if moment is None:
            raise FilterError(f"{path}: {text!r} is not an RFC 3339 timestamp")
        times.append(moment)
    if operator == "time_range" and times[0] > times[1]:
        raise FilterError(f"{path}: time_range start is after its end")
    return tuple(times)


def _custom_field_reader(slug: str) -> Callable[[Record], Any]:
    """A custom field's value: its `values` list when multi-valued, else its `value`."""

    def read(issue: Record) -> Any:
        entry = (issue.get("custom_fields") or {}).get(slug)
        if not isinstance(entry, dict):
            return None
        return entry.get("values") if entry.get("values") is not None else entry.get("value")

    return read


def _evaluate(condition: Condition, actual: Any) -> bool:
    operator = condition.operator
    if operator == "is_set":
        return actual not in (None, "", [])
    if operator == "is_unset":
        return actual in (None, "", [])
    if operator in TIME_OPERATORS:
        return _evaluate_time(condition, parse_timestamp(actual))
    if isinstance(actual, list):
        return _evaluate_list(condition, actual)
    return _evaluate_scalar(condition, actual)


def _evaluate_time(condition: Condition, moment: datetime | None) -> bool:
    if moment is None:
        return False
    if condition.operator == "time_is_after":
        return moment > condition.times[0]
    if condition.operator == "time_is_before":
        return moment < condition.times[0]
    return condition.times[0] < moment < condition.times[1]


def _evaluate_list(condition: Condition, items: list[Any]) -> bool:
    """Multi-valued fields (tags, multiselect custom fields) match on membership."""
    present = {str(item) for item in items}
    operator, value, values = condition.operator, condition.value, set(condition.values)
    if operator in ("contains", "equals"):
        return value in present
    if operator in ("does_not_contain", "not_equals"):
        return value not in present
    if operator == "in":
        return bool(present & values)
    if operator == "not_in":
        return not present & values
    if operator == "includes_all_of":
        return values <= present
    return False


def _evaluate_scalar(condition: Condition, actual: Any) -> bool:
    operator, value = condition.operator, condition.value
    text = None if actual is None else str(actual)
    if operator == "equals":
        return text == value
    if operator == "not_equals":
        return text != value
    if operator == "in":
        return text in condition.values
    if operator == "not_in":
        return text not in condition.values
    if operator == "includes_all_of":
        return set(condition.values) <= {text}
    if text is None or value is None:
        return operator in ("string_does_not_contain", "does_not_contain")
    if operator in ("string_contains", "contains"):
        return value.casefold() in text.casefold()
    if operator in ("string_does_not_contain", "does_not_contain"):
        return value.casefold() not in text.casefold()
    if operator == "starts_with":
        return text.casefold().startswith(value.casefold())
    if operator == "ends_with":
        return text.casefold().endswith(value.casefold())
    return _compare_numbers(operator, text, value)


def _compare_numbers(operator: str, text: str, value: str) -> bool:
    try:
        left, right = float(text), float(value)
    except ValueError:
        return False
    return {
        "greater_than": left > right,
        "less_than": left < right,
        "greater_than_or_equals": left >= right,
        "less_than_or_equals": left <= right,
    }[operator]


def updated_at_bounds(tree: Filter) -> tuple[datetime | None, datetime | None] | None:
    """The `updated_at` range a filter confines its results to, or None if it does not.

    `and` intersects its constrained children, `or` is constrained only if every child is (then the
    hull of their ranges). A None bound is open. Used by the optional search window cap.
    """
    if isinstance(tree, Condition):
        if tree.field != "updated_at":
            return None
        if tree.operator == "time_is_after":
            return tree.times[0], None
        if tree.operator == "time_is_before":
            return None, tree.times[0]
        return tree.times[0], tree.times[1]
    ranges = [updated_at_bounds(sub) for sub in tree.subfilters]
    known = [r for r in ranges if r is not None]
    if not known or (tree.operator == "or" and len(known) < len(ranges)):
        return None
    starts = [start for start, _ in known]
    ends = [end for _, end in known]
    if tree.operator == "and":
        return _latest(starts), _earliest(ends)
    return (
        None if None in starts else _earliest(starts),
        None if None in ends else _latest(ends),
    )


def _earliest(moments: list[datetime | None]) -> datetime | None:
    return min((m for m in moments if m is not None), default=None)


def _latest(moments: list[datetime | None]) -> datetime | None:
    return max((m for m in moments if m is not None), default=None)
