"""Sets of days written as stretches of consecutive days, and read back."""

from __future__ import annotations

from pylon_dagster.assets.partitions import day_stretches, stretch_days


def test_days_become_stretches_of_consecutive_days_and_back() -> None:
    days = ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-05", "2026-12-31", "2027-01-01"]
    stretches = day_stretches(reversed([*days, "2026-02-28"]))
    assert stretches == [
        ("2026-02-27", "2026-03-01"),  # across the end of February
        ("2026-03-05", "2026-03-05"),
        ("2026-12-31", "2027-01-01"),
    ]
    assert stretch_days(stretches) == days
    assert day_stretches([]) == [] and stretch_days([]) == []
