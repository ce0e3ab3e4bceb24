"""Support for the progress tests: a clock that moves on demand, and reading ETAs back from output."""

from __future__ import annotations

import re

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(\d+(?:\.\d+)?)s")


def seconds(duration: str) -> float:
    """`4.1s`, `4m09s`, `1h02m09s` as seconds (the inverse of `format_duration`)."""
    match = DURATION.fullmatch(duration)
    assert match, f"not a duration: {duration!r}"
    hours, minutes, secs = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(secs)


def etas(output: str, window: str) -> list[float]:
    """Every known ETA shown for the window labelled `window` (e.g. `[2/2]`), in order."""
    text = ANSI_ESCAPE.sub("", output)
    found = re.findall(re.escape(window) + r"[^\n|]*?ETA (\S+)", text)
    return [seconds(value) for value in found if value != "unknown"]


class FakeClock:
    """A clock that moves only when the test says so."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
