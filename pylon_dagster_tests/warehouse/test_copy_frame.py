"""`copy_frame` (COPY into pandas) reads what `read_frame` (Python rows) reads, text that CSV must
quote included."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.frames import ColumnKind, copy_frame, read_frame

ROWS = """
    SELECT * FROM (VALUES
        ('a', 'comma, "quote"', 1.5, TIMESTAMPTZ '2026-03-01 10:00:00.123456+00'),
        ('b', 'line
break', NULL, NULL),
        ('c', '', 0, TIMESTAMPTZ '2026-03-01 00:00:00+02'),
        ('d', NULL, -7, TIMESTAMPTZ '1970-01-01 00:00:00+00')
    ) AS v(id, note, amount, at)
    WHERE id = ANY(CAST(:ids AS text[])) AND at IS DISTINCT FROM :never
"""
COLUMNS: dict[str, ColumnKind] = {"id": "text", "note": "text", "amount": "number", "at": "time"}


def test_copy_frame_reads_what_read_frame_reads(warehouse: PostgresWarehouse) -> None:
    params = {"ids": ["a", "b", "c", "d"], "never": datetime(2000, 1, 1, tzinfo=UTC)}
    with warehouse.engine.connect() as connection:
        copied = copy_frame(connection, ROWS, params, COLUMNS)
        read = read_frame(connection, ROWS, params)
        empty = copy_frame(connection, ROWS, {**params, "ids": []}, COLUMNS)
    read["at"] = pd.to_datetime(read["at"], utc=True)
    read["amount"] = read["amount"].astype("float64")
    pd.testing.assert_frame_equal(copied, read)
    assert copied["note"].tolist()[:3] == ['comma, "quote"', "line\nbreak", ""]
    assert pd.isna(copied["note"][3])
    assert empty.empty and list(empty.columns) == list(COLUMNS)
    assert str(empty["at"].dtype) == "datetime64[us, UTC]"


def test_a_category_column_holds_the_strings_text_reads(warehouse: PostgresWarehouse) -> None:
    params = {"ids": ["a", "b", "c", "d"], "never": datetime(2000, 1, 1, tzinfo=UTC)}
    with warehouse.engine.connect() as connection:
        text = copy_frame(connection, ROWS, params, COLUMNS)
        categories = copy_frame(connection, ROWS, params, {**COLUMNS, "note": "category"})
    assert isinstance(categories["note"].dtype, pd.CategoricalDtype)
    assert categories["note"].astype(object).tolist()[:3] == text["note"].tolist()[:3]
    assert pd.isna(categories["note"][3])
