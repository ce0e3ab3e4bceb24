"""The custom-app response (schema version 1.0.0) as typed values that serialise to Pylon's JSON.

Only component types from Pylon's schema exist here (an unknown type renders an error state; the
schema's `link` is not needed so far), and a card holds only non-card components, as the schema
requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SCHEMA_VERSION = "1.0.0"


class BadgeColor(StrEnum):
    BLUE = "blue"
    GREEN = "green"
    RED = "red"
    ORANGE = "orange"
    GRAY = "gray"


MAX_TEXT_CHARS = 500
"""What a sidebar line can usefully show; a record's title may be any length."""


def shorten(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def rfc3339(moment: datetime) -> str:
    """`2024-07-15T12:34:56Z`: UTC, whole seconds. Naive datetimes are refused, not guessed."""
    if moment.tzinfo is None:
        raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")
    utc = moment.astimezone(UTC)
    # strftime's %Y drops leading zeros before year 1000; RFC 3339 wants four digits.
    return f"{utc.year:04d}-" + utc.strftime("%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Text:
    label: str
    value: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "text", "label": shorten(self.label), "value": shorten(self.value)}


@dataclass(frozen=True)
class DateTime:
    label: str
    value: datetime

    def to_json(self) -> dict[str, Any]:
        return {"type": "date_time", "label": self.label, "value": rfc3339(self.value)}


@dataclass(frozen=True)
class BadgeItem:
    value: str
    color: BadgeColor

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "color": BadgeColor(self.color).value}


@dataclass(frozen=True)
class Badge:
    label: str
    items: tuple[BadgeItem, ...]

    def to_json(self) -> dict[str, Any]:
        return {"type": "badge", "label": self.label, "items": [i.to_json() for i in self.items]}


@dataclass(frozen=True)
class Button:
    """A link rendered as a button (`button_type` "link" is the only kind Pylon has)."""

    label: str
    url: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "button", "label": self.label, "button_type": "link", "url": self.url}


@dataclass(frozen=True)
class Divider:
    def to_json(self) -> dict[str, Any]:
        return {"type": "divider"}


Leaf = Text | DateTime | Badge | Button | Divider
"""Any component allowed inside a card."""


@dataclass(frozen=True)
class Card:
    title: str
    components: tuple[Leaf, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "card",
            "header": {"title": self.title},
            "components": [c.to_json() for c in self.components],
        }


Component = Card | Leaf


@dataclass(frozen=True)
class AppPayload:
    title: str
    components: tuple[Component, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "header": {"title": self.title},
            "components": [c.to_json() for c in self.components],
        }
