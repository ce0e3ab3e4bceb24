"""The payload builder produces what Pylon's schema allows; the schema check catches what it
does not."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from pylon_dagster.webapp.components import (
    AppPayload,
    Badge,
    BadgeColor,
    BadgeItem,
    Button,
    Card,
    DateTime,
    Divider,
    Text,
    rfc3339,
)
from pylon_dagster_tests.webapp.schema_check import schema_errors

# The example response from Pylon's Custom Apps page.
DOC_EXAMPLE: dict[str, Any] = {
    "version": "1.0.0",
    "header": {"title": "Sample Header", "icon_url": "http://example.com/icon.png"},
    "components": [
        {"type": "card", "components": [{"type": "text", "label": "Nested", "value": "x"}]},
        {"type": "text", "label": "Sample Text", "value": "This is a sample text"},
        {"type": "date_time", "label": "Sample Date", "value": "2024-07-15T12:34:56Z"},
        {"type": "badge", "label": "Sample Badge", "items": [{"value": "B", "color": "blue"}]},
        {"type": "button", "label": "Click Me", "button_type": "link", "url": "http://e.com"},
        {"type": "link", "label": "Example Link", "url": "http://example.com"},
        {"type": "divider"},
    ],
}


def test_doc_example_is_valid() -> None:
    assert schema_errors(DOC_EXAMPLE) == []


def _broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    payload = copy.deepcopy(DOC_EXAMPLE)
    target = payload
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        _broken(("version",), KeyError),
        _broken(("components", 0, "components", 0), {"type": "card", "components": []}),
        _broken(("components", 1, "type"), "image"),
        _broken(("components", 2, "value"), "2024-07-15T12:34:56"),
        _broken(("components", 2, "value"), "2024-13-15T12:34:56Z"),
        _broken(("components", 3, "items", 0, "color"), "purple"),
        _broken(("components", 4, "button_type"), KeyError),
        _broken(("components", 5, "url"), "not a url"),
    ],
)
def test_schema_check_rejects_invalid_payloads(payload: dict[str, Any]) -> None:
    assert schema_errors(payload)


def test_builder_output_is_valid_and_exact() -> None:
    created = datetime(2024, 7, 15, 14, 34, 56, 789, tzinfo=timezone(timedelta(hours=2)))
    payload = AppPayload(
        "Support history",
        (
            Card(
                "Acme",
                (
                    Text("Open issues", "3"),
                    DateTime("Created", created),
                    Badge("Tags", (BadgeItem("vip", BadgeColor.BLUE),)),
                    Button("Open #7", "https://app.usepylon.com/issues?issueNumber=7"),
                    Divider(),
                ),
            ),
            Text("Note", "top-level text is allowed"),
        ),
    ).to_json()
    assert schema_errors(payload) == []
    assert payload["version"] == "1.0.0"
    card = payload["components"][0]
    assert card["header"] == {"title": "Acme"}
    assert card["components"][1] == {
        "type": "date_time",
        "label": "Created",
        "value": "2024-07-15T12:34:56Z",
    }
    assert card["components"][3]["button_type"] == "link"


def test_rfc3339_refuses_naive_datetimes() -> None:
    assert rfc3339(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
    with pytest.raises(ValueError, match="timezone-aware"):
        rfc3339(datetime(2024, 1, 2, 3, 4, 5))
