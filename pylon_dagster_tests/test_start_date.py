"""The default start date pinned in the state folder: set once, moved only earlier, never moved by
a load, and never written when `PYLON_START_DATE` is set; and a start date's bound, today."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pylon_dagster.settings import (
    START_DATE_VAR,
    STATE_DIR_VAR,
    ConfigError,
    remember_default_start_date,
    start_date,
)

TODAY = date(2026, 11, 29)


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    """An environment naming its own state folder and no start date."""
    return {STATE_DIR_VAR: str(tmp_path / "state")}


@pytest.fixture
def anchor(environ: dict[str, str]) -> Path:
    return Path(environ[STATE_DIR_VAR]) / "default_start_date"


def test_the_first_sync_pins_30_days_back_and_later_days_keep_it(
    environ: dict[str, str], anchor: Path
):
    remember_default_start_date(environ, today=TODAY)
    remember_default_start_date(environ, today=date(2026, 12, 25))

    assert anchor.read_text() == "2026-10-30"
    assert start_date(environ, today=date(2026, 12, 25)) == date(2026, 10, 30)


def test_the_demo_pins_its_dataset_first_day_and_only_ever_moves_it_earlier(
    environ: dict[str, str], anchor: Path
):
    remember_default_start_date(environ, earliest=date(2026, 5, 31), today=TODAY)
    assert anchor.read_text() == "2026-05-31"

    remember_default_start_date(environ, earliest=date(2026, 6, 2), today=TODAY)
    remember_default_start_date(environ, today=TODAY)
    assert anchor.read_text() == "2026-05-31"

    remember_default_start_date(environ, earliest=date(2026, 5, 1), today=TODAY)
    assert start_date(environ, today=TODAY) == date(2026, 5, 1)


def test_an_older_30_day_pin_moves_back_to_the_demo_dataset(environ: dict[str, str], anchor: Path):
    """A state folder from before the demo covered its whole dataset gets the months added."""
    remember_default_start_date(environ, today=TODAY)
    remember_default_start_date(environ, earliest=date(2026, 5, 31), today=TODAY)

    assert anchor.read_text() == "2026-05-31"


def test_nothing_is_pinned_when_the_start_date_is_set(environ: dict[str, str], anchor: Path):
    environ[START_DATE_VAR] = "2024-01-01"

    remember_default_start_date(environ, earliest=date(2026, 5, 31), today=TODAY)

    assert not anchor.exists()
    assert start_date(environ, today=TODAY) == date(2024, 1, 1)


def test_without_anything_pinned_the_partitions_start_30_days_back_and_nothing_is_written(
    environ: dict[str, str], anchor: Path
):
    assert start_date(environ, today=TODAY) == date(2026, 10, 30)
    assert not anchor.parent.exists()


def test_today_is_the_latest_start_date_and_tomorrow_is_refused(environ: dict[str, str]):
    """The bound the command-line test checks with a date further ahead, exactly."""
    environ[START_DATE_VAR] = TODAY.isoformat()
    assert start_date(environ, today=TODAY) == TODAY

    environ[START_DATE_VAR] = "2026-11-30"
    with pytest.raises(ConfigError, match=r"^PYLON_START_DATE='2026-11-30' is in the future"):
        start_date(environ, today=TODAY)
