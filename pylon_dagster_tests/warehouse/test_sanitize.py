"""The sanitising rule on its own: what changes, what is counted, what is left byte for byte."""

from __future__ import annotations

import json

from pylon_dagster.warehouse.sanitize import REPLACEMENT, encode_record


def test_clean_records_are_encoded_unchanged():
    record = {"id": "1", "html": "<p>NaNa Infinity\\u0000 ü 🎉</p>", "n": [1.5, None, True]}
    encoded, changed = encode_record(record)
    assert not changed
    assert json.loads(encoded) == record


def test_nul_and_lone_surrogates_become_the_replacement_character():
    record = {"id": "1", "a\x00": ["x\ud800y", {"deep\udc00": "\x00"}], "pair": "🎉"}
    encoded, changed = encode_record(record)
    assert changed
    r = REPLACEMENT
    assert json.loads(encoded) == {"id": "1", f"a{r}": [f"x{r}y", {f"deep{r}": r}], "pair": "🎉"}
    assert b"\\u0000" not in encoded  # nothing Postgres would refuse is left


def test_non_finite_numbers_become_null():
    encoded, changed = encode_record({"a": float("nan"), "b": [float("inf"), -float("inf"), 1.0]})
    assert changed
    assert json.loads(encoded) == {"a": None, "b": [None, None, 1.0]}
