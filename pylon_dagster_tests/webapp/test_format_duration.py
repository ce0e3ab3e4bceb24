from __future__ import annotations

import pytest

from pylon_dagster.webapp.sidebar import NO_DATA, format_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, NO_DATA),
        (0, "0s"),
        (44.6, "45s"),
        (60, "1m"),
        (59 * 60 + 59, "59m"),
        (3 * 3600 + 5 * 60 + 20, "3h 05m"),
        (2 * 86400 + 4 * 3600 + 59 * 60, "2d 4h"),
    ],
)
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text
