from __future__ import annotations

import pytest

from pylon_dagster.webapp.handshake import prefers_plain_text


@pytest.mark.parametrize(
    ("accept", "plain"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("text/plain", True),
        ("text/*", True),
        ("text/plain, application/json", False),
        ("text/plain, application/json;q=0.5", True),
        ("application/json;q=0.2, text/plain;q=0.9", True),
        ("text/plain;q=0.1, */*", False),
        ("text/*;q=0.9, text/plain;q=0.1, application/*;q=0.5", False),
        ("TEXT/PLAIN;Q=1", True),
        ("text/plain;q=oops", False),
    ],
)
def test_prefers_plain_text(accept: str | None, plain: bool) -> None:
    assert prefers_plain_text(accept) is plain
