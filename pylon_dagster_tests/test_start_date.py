"""The default start date pinned in the state folder: set once, moved only earlier, never moved by
a load, and never written when `PYLON_START_DATE` is set."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pylon_dagster.settings import START_DATE_VAR, remember_default_start_date, start_date

TODAY = date(2026, 11, 29)


@pytest.fixture
def anchor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(START_DATE_VAR, raising=False)
    return tmp_path / "state" / "default_start_date"


def test_the_first_sync_pins_30_days_back_and_later_days_keep_it(anchor: Path):
    remember_default_start_date(today=TODAY, anchor_file=anchor)
    remember_default_start_date(today=date(2026, 12, 25), anchor_file=anchor)

    assert anchor.read_text() == "2026-10-30"
    assert start_date(today=date(2026, 12, 25), anchor_file=anchor) == date(2026, 10, 30)


def test_the_demo_pins_its_dataset_first_day_and_only_ever_moves_it_earlier(anchor: Path):
    remember_default_start_date(earliest=date(2026, 5, 31), today=TODAY, anchor_file=anchor)
    assert anchor.read_text() == "2026-05-31"

    remember_default_start_date(earliest=date(2026, 6, 2), today=TODAY, anchor_file=anchor)
    remember_default_start_date(today=TODAY, anchor_file=anchor)
    assert anchor.read_text() == "2026-05-31"

    remember_default_start_date(earliest=date(2026, 5, 1), today=TODAY, anchor_file=anchor)
    assert start_date(today=TODAY, anchor_file=anchor) == date(2026, 5, 1)


def test_an_older_30_day_pin_moves_back_to_the_demo_dataset(anchor: Path):
    """A state folder from before the demo covered its whole dataset gets the months added."""
    remember_default_start_date(today=TODAY, anchor_file=anchor)
    remember_default_start_date(earliest=date(2026, 5, 31), today=TODAY, anchor_file=anchor)

    assert anchor.read_text() == "2026-05-31"


def test_nothing_is_pinned_when_the_start_date_is_set(
    anchor: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(START_DATE_VAR, "2024-01-01")

    remember_default_start_date(earliest=date(2026, 5, 31), today=TODAY, anchor_file=anchor)

    assert not anchor.exists()
    assert start_date(today=TODAY, anchor_file=anchor) == date(2024, 1, 1)
