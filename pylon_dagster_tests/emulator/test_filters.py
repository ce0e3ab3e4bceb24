"""The search filter grammar: what is refused, and what matches."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pylon_emulator.filters import FilterError, parse_filter, updated_at_bounds

CUSTOM_SLUGS = {"plan", "components"}
ISSUE = {
    "id": "i-1",
    "title": "Problème de facturation",
    "body_html": "<p>Invoice shows wrong VAT</p>",
    "state": "waiting_on_you",
    "type": "ticket",
    "updated_at": "2026-03-01T00:00:00Z",
    "created_at": "2026-02-20T10:00:00Z",
    "resolution_time": None,
    "latest_message_time": "2026-02-28T09:00:00Z",
    "account": {"id": "acc-1", "external_ids": None},
    "requester": {"id": "con-1", "email": "a@example.com"},
    "assignee": None,
    "team": {"id": "team-1"},
    "tags": ["bug", "billing"],
    "customer_portal_visible": True,
    "custom_fields": {
        "plan": {"slug": "plan", "value": "pro"},
        "components": {"slug": "components", "values": ["api", "billing"]},
    },
}


def leaf(field: str, operator: str, value: str | None = None, values: list[str] | None = None):
    condition: dict = {"field": field, "operator": operator}
    if value is not None:
        condition["value"] = value
    if values is not None:
        condition["values"] = values
    return condition


def matches(raw: dict) -> bool:
    return parse_filter(raw, CUSTOM_SLUGS).matches(ISSUE)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("state", "must be an object"),
        ({"operator": "like", "field": "state", "value": "x"}, "not a valid operator"),
        ({"operator": "and", "subfilters": []}, "non-empty list of subfilters"),
        ({"operator": "or"}, "non-empty list of subfilters"),
        (
            {"operator": "and", "field": "state", "subfilters": [leaf("state", "equals", "new")]},
            "field must not be set",
        ),
        (
            {
                "operator": "and",
                "subfilters": [
                    {
                        "operator": "or",
                        "subfilters": [
                            {"operator": "and", "subfilters": [leaf("state", "equals", "new")]}
                        ],
                    }
                ],
            },
            "deeper than 3 levels",
        ),
        (
            {**leaf("state", "equals", "new"), "subfilters": [leaf("state", "equals", "new")]},
            "valid only with operator",
        ),
        ({"operator": "equals", "value": "new"}, "field is required"),
        (leaf("priority_score", "equals", "1"), "unknown field 'priority_score'"),
        (leaf("state", "string_contains", "new"), "not supported for field 'state'"),
        (
            leaf("updated_at", "equals", "2026-01-01T00:00:00Z"),
            "not supported for field 'updated_at'",
        ),
        (leaf("state", "in", value="new"), "takes values, not value"),
        (leaf("state", "in"), "needs values"),
        (leaf("state", "in", values=["new", 3]), "needs values"),  # type: ignore[list-item]
        (leaf("state", "equals", values=["new"]), "takes value, not values"),
        (leaf("state", "equals"), "needs value"),
        (leaf("assignee_id", "is_set", value="x"), "takes neither"),
        (leaf("updated_at", "time_is_after", "yesterday"), "not an RFC 3339 timestamp"),
        (leaf("updated_at", "time_is_after", "2026-01-01"), "not an RFC 3339 timestamp"),
        (leaf("updated_at", "time_range", values=["2026-01-01T00:00:00Z"]), "[start, end]"),
        (
            leaf(
                "updated_at", "time_range", values=["2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"]
            ),
            "start is after its end",
        ),
    ],
)
def test_invalid_filters_are_refused_with_a_message(raw: object, message: str):
    with pytest.raises(FilterError) as caught:
        parse_filter(raw, CUSTOM_SLUGS)
    assert message in str(caught.value)


def test_a_tree_three_levels_deep_is_accepted():
    inner = {
        "operator": "or",
        "subfilters": [leaf("state", "equals", "new"), leaf("tags", "contains", "bug")],
    }
    assert matches({"operator": "and", "subfilters": [inner]})


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("time_is_after", "2026-02-28T23:59:59Z", True),
        ("time_is_after", "2026-03-01T00:00:00Z", False),  # strict: equal is not after
        ("time_is_before", "2026-03-01T00:00:01Z", True),
        ("time_is_before", "2026-03-01T00:00:00Z", False),  # strict: equal is not before
        ("time_is_after", "2026-03-01T01:00:00+01:00", False),  # offsets are honoured
    ],
)
def test_time_bounds_are_strict(operator: str, value: str, expected: bool):
    assert matches(leaf("updated_at", operator, value)) is expected


def test_time_range_excludes_both_ends():
    assert matches(
        leaf("updated_at", "time_range", values=["2026-02-28T00:00:00Z", "2026-03-02T00:00:00Z"])
    )
    assert not matches(
        leaf("updated_at", "time_range", values=["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"])
    )
    assert not matches(leaf("resolved_at", "time_is_after", "2020-01-01T00:00:00Z"))  # unset time


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (leaf("state", "equals", "waiting_on_you"), True),
        (leaf("state", "in", values=["new", "closed"]), False),
        (leaf("state", "not_in", values=["new", "closed"]), True),
        (leaf("account_id", "equals", "acc-1"), True),
        (leaf("assignee_id", "is_unset"), True),
        (leaf("assignee_id", "is_set"), False),
        (leaf("team_id", "in", values=["team-1"]), True),
        (leaf("issue_type", "equals", "ticket"), True),
        (leaf("tags", "contains", "bug"), True),
        (leaf("tags", "does_not_contain", "bug"), False),
        (leaf("tags", "in", values=["urgent", "billing"]), True),
        (leaf("tags", "not_in", values=["urgent", "onboarding"]), True),
        (leaf("title", "string_contains", "FACTURATION"), True),
        (leaf("body_html", "string_does_not_contain", "VAT"), False),
        (leaf("customer_portal_visible", "equals", "true"), True),
        (leaf("follower_user_id", "equals", "u-1"), False),
        (leaf("plan", "equals", "pro"), True),
        (leaf("plan", "in", values=["free", "enterprise"]), False),
        (leaf("components", "contains", "api"), True),
        (leaf("components", "includes_all_of", values=["api", "mobile"]), False),
        (
            {
                "operator": "or",
                "subfilters": [leaf("state", "equals", "new"), leaf("tags", "contains", "bug")],
            },
            True,
        ),
        (
            {
                "operator": "and",
                "subfilters": [leaf("state", "equals", "new"), leaf("tags", "contains", "bug")],
            },
            False,
        ),
    ],
)
def test_conditions_match_the_issue_fields(raw: dict, expected: bool):
    assert matches(raw) is expected


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_updated_at_bounds_reads_the_range_a_filter_allows():
    after = leaf("updated_at", "time_is_after", "2026-01-01T00:00:00Z")
    before = leaf("updated_at", "time_is_before", "2026-02-01T00:00:00Z")
    state = leaf("state", "equals", "new")
    bounds = updated_at_bounds(
        parse_filter({"operator": "and", "subfilters": [after, before, state]})
    )
    assert bounds == (_at("2026-01-01T00:00:00Z"), _at("2026-02-01T00:00:00Z"))
    assert updated_at_bounds(parse_filter(after)) == (_at("2026-01-01T00:00:00Z"), None)
    assert updated_at_bounds(parse_filter(state)) is None
    assert updated_at_bounds(parse_filter({"operator": "or", "subfilters": [after, state]})) is None
    ranged = leaf(
        "updated_at", "time_range", values=["2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z"]
    )
    hull = updated_at_bounds(parse_filter({"operator": "or", "subfilters": [before, ranged]}))
    assert hull == (None, _at("2026-03-05T00:00:00Z"))
