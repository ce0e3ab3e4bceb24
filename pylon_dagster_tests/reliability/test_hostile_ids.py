"""Ids that look like paths or queries, served by the emulator, go into request paths as data.

An id is put into a path (`GET /issues/{id}/messages`, `GET /knowledge-bases/{id}/articles`) as
one percent-encoded segment: `../../accounts` must not become `GET /accounts/messages`, whose 404
would mark the issue deleted, nor `x?limit=1&cursor=evil` a request with a query of its choosing.
"""

from __future__ import annotations

import copy

import pytest

from pylon_dagster_tests.fixtures.emulator import (
    EMULATOR_DAYS,
    EMULATOR_NOW,
    EMULATOR_SEED,
    EMULATOR_TIME_SCALE,
)
from pylon_dagster_tests.fixtures.pipeline import Pipeline
from pylon_dagster_tests.reliability.helpers import (
    assert_equals_truth,
    assert_no_duplicates,
    deletion_marks,
    full_sync,
    succeeded,
)
from pylon_emulator import PylonEmulator, generate
from pylon_emulator.dataset import Dataset

HOSTILE_ISSUE_IDS = ("../../accounts", "x?limit=1&cursor=evil", "..", "a/b#c", "%2F")
HOSTILE_KNOWLEDGE_BASE_ID = "../issues"


def _hostile_dataset() -> Dataset:
    """The usual small dataset, some issues (with messages) and a knowledge base renamed."""
    data = generate(EMULATOR_SEED, 40, now=EMULATOR_NOW, days=EMULATOR_DAYS)
    with_messages = sorted(i["id"] for i in data.issues if data.messages.get(i["id"]))
    renamed = dict(zip(with_messages, HOSTILE_ISSUE_IDS, strict=False))
    for issue in data.issues:
        if new_id := renamed.get(issue["id"]):
            data.messages[new_id] = data.messages.pop(issue["id"])
            data.threads[new_id] = data.threads.pop(issue["id"])
            issue["id"] = new_id
    base = data.knowledge_bases[0]
    data.articles[HOSTILE_KNOWLEDGE_BASE_ID] = data.articles.pop(base["id"])
    data.collections[HOSTILE_KNOWLEDGE_BASE_ID] = data.collections.pop(base["id"])
    base["id"] = HOSTILE_KNOWLEDGE_BASE_ID
    return data


@pytest.fixture
def emulator() -> PylonEmulator:
    """Overrides the shared fixture: the same emulator, serving ids that look like paths."""
    return PylonEmulator(copy.deepcopy(_hostile_dataset()), time_scale=EMULATOR_TIME_SCALE)


def test_ids_that_look_like_paths_or_queries_fetch_their_own_children(pipeline: Pipeline):
    messages = pipeline.emulator.truth("issue_messages")
    assert all(messages[issue_id] for issue_id in HOSTILE_ISSUE_IDS)

    runs = full_sync(pipeline)

    assert succeeded(runs), [run.error for run in runs]
    # Every child of every hostile id was fetched from its own path: a path that climbed
    # elsewhere answers 404 (the issue would be marked deleted, its messages missing) or
    # another list (wrong children).
    assert_equals_truth(pipeline)
    assert_no_duplicates(pipeline)
    marks = deletion_marks(pipeline)
    assert set(HOSTILE_ISSUE_IDS) <= set(marks)
    assert all(mark is None for mark in marks.values()), marks
    counters = pipeline.emulator.counters()
    assert counters.responses.get(404, 0) == 0, counters
