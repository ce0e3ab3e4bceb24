"""The synthetic dataset: deterministic, shaped like Pylon's objects, and full of edge cases."""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from pylon_emulator.dataset import (
    CUSTOM_FIELD_OBJECT_TYPES,
    ISSUE_STATES,
    TASK_STATUSES,
    Dataset,
    generate,
)

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(5, issues=400, now=NOW, days=45)


def _is_uuid(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


def _when(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    assert generate(5, issues=150, now=NOW) == generate(5, issues=150, now=NOW)
    first, other = generate(5, issues=150, now=NOW), generate(6, issues=150, now=NOW)
    assert {i["id"] for i in first.issues}.isdisjoint(i["id"] for i in other.issues)


def test_now_defaults_to_the_current_minute():
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    now = generate(1, issues=5).now
    assert now.second == 0 and now.microsecond == 0
    assert before <= now <= datetime.now(UTC)


def test_issues_live_in_the_days_before_now(dataset: Dataset):
    start = NOW - timedelta(days=45)
    assert dataset.since == start
    assert len(dataset.issues) == 400
    for issue in dataset.issues:
        assert _is_uuid(issue["id"])
        assert TIMESTAMP.match(issue["created_at"]) and TIMESTAMP.match(issue["updated_at"])
        assert start <= _when(issue["created_at"]) <= _when(issue["updated_at"]) <= NOW
        assert issue["state"] in ISSUE_STATES
    assert sorted(i["number"] for i in dataset.issues) == list(range(1, 401))


def test_edge_cases_are_there_on_purpose(dataset: Dataset):
    updated = Counter(issue["updated_at"] for issue in dataset.issues)
    midnights = [at for at in updated if at.endswith("T00:00:00Z")]
    tie_sizes = [count for count in updated.values() if count > 1]
    assert len(midnights) >= 3
    assert len(tie_sizes) >= 2 and max(tie_sizes) >= 3
    assert any(updated[at] > 1 for at in midnights)  # a tie sitting on a day boundary


def test_even_a_tiny_dataset_has_midnights_and_ties():
    updated = Counter(i["updated_at"] for i in generate(2, issues=15, now=NOW, days=3).issues)
    assert any(at.endswith("T00:00:00Z") for at in updated)
    assert max(updated.values()) >= 3


def test_issue_references_have_pylons_mini_shapes(dataset: Dataset):
    for issue in dataset.issues:
        assert set(issue["requester"]) == {"id", "email"}
        assert issue["assignee"] is None or set(issue["assignee"]) == {"id", "email"}
        assert issue["team"] is None or set(issue["team"]) == {"id"}
        assert issue["account"] is None or set(issue["account"]) == {"id", "external_ids"}
        assert issue["tags"] is None or all(isinstance(tag, str) for tag in issue["tags"])
        for slug, value in issue["custom_fields"].items():
            assert value["slug"] == slug and ("value" in value or "values" in value)
    assert any(issue["assignee"] is None for issue in dataset.issues)
    assert any(issue["team"] is None for issue in dataset.issues)
    assert any(issue["tags"] is None for issue in dataset.issues)


def test_text_is_not_just_ascii(dataset: Dataset):
    text = " ".join(issue["title"] + issue["body_html"] for issue in dataset.issues)
    assert re.search(r"[éèüöäçñ]", text)  # accents
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text)  # Japanese, Chinese
    assert re.search(r"[\U0001F300-\U0001FAFF]", text)  # emoji
    assert all(issue["body_html"].startswith("<p>") for issue in dataset.issues)


def test_messages_and_threads_belong_to_their_issue(dataset: Dataset):
    by_id = {issue["id"]: issue for issue in dataset.issues}
    assert set(dataset.messages) == set(by_id) == set(dataset.threads)
    for issue_id, messages in dataset.messages.items():
        issue = by_id[issue_id]
        assert all("issue_id" not in message for message in messages)
        stamps = [message["timestamp"] for message in messages]
        assert stamps == sorted(stamps)
        if messages:
            assert messages[0]["message_html"] == issue["body_html"]
            assert issue["latest_message_time"] == stamps[-1] <= issue["updated_at"]
        thread_ids = {thread["id"] for thread in dataset.threads[issue_id]}
        assert all(thread["issue_id"] == issue_id for thread in dataset.threads[issue_id])
        private = [m for m in messages if m["is_private"]]
        assert all(m["thread_id"] in thread_ids for m in private)
    sizes = Counter(len(messages) for messages in dataset.messages.values())
    assert min(sizes) == 0 and max(sizes) <= 6
    assert {len(threads) for threads in dataset.threads.values()} == {0, 1, 2}


def test_reference_streams_cover_what_the_api_lists(dataset: Dataset):
    assert {f["object_type"] for f in dataset.custom_fields} == set(CUSTOM_FIELD_OBJECT_TYPES)
    slugs = [status["slug"] for status in dataset.issue_statuses]
    assert len(slugs) == len(set(slugs)) and set(ISSUE_STATES) <= set(slugs)
    assert {tag["object_type"] for tag in dataset.tags} == {"issue", "account", "article"}
    for stream in (dataset.accounts, dataset.contacts, dataset.users, dataset.teams):
        assert stream and all(_is_uuid(record["id"]) for record in stream)
    assert (
        set(dataset.articles)
        == set(dataset.collections)
        == {kb["id"] for kb in dataset.knowledge_bases}
    )
    assert any(account["external_ids"] is None for account in dataset.accounts)


def test_tasks_have_pylons_task_shape_and_point_at_the_organizations_people(dataset: Dataset):
    accounts = {account["id"] for account in dataset.accounts}
    people = {
        "user": {user["id"]: user["email"] for user in dataset.users},
        "contact": {contact["id"]: contact["email"] for contact in dataset.contacts},
    }
    for task in dataset.tasks:
        assert _is_uuid(task["id"]) and task["title"] and task["body_html"].startswith("<p>")
        assert task["status"] in TASK_STATUSES
        assert task["account"] is None or (
            task["account"]["id"] in accounts and task["account"]["external_ids"] is None
        )
        if task["assignee"] is not None:
            [(kind, person)] = task["assignee"].items()
            assert people[kind][person["id"]] == person["email"] and set(person) == {"id", "email"}
        assert task["project"] is None or set(task["project"]) == {"id"}
        assert task["milestone"] is None or (task["project"] and set(task["milestone"]) == {"id"})
        assert task["due_date"] is None or TIMESTAMP.match(task["due_date"])
        assert TIMESTAMP.match(task["created_at"]) and TIMESTAMP.match(task["updated_at"])
        assert _when(task["created_at"]) <= _when(task["updated_at"]) <= NOW
        if task["status"] == "completed":
            assert task["created_at"] <= task["completed_at"] <= task["updated_at"]
        else:
            assert task["completed_at"] is None
        assert isinstance(task["customer_portal_visible"], bool) and task["custom_fields"] == {}
    assert len(dataset.tasks) == 25
    assert {task["status"] for task in dataset.tasks} == set(TASK_STATUSES)
    assignees = {
        None if t["assignee"] is None else next(iter(t["assignee"])) for t in dataset.tasks
    }
    assert assignees == {"user", "contact", None}
    assert any(task["account"] is None for task in dataset.tasks)
    assert any(task["milestone"] for task in dataset.tasks)


def test_subtasks_and_their_parents_point_at_each_other(dataset: Dataset):
    by_id = {task["id"]: task for task in dataset.tasks}
    subtasks = [task for task in dataset.tasks if task["parent_task_id"] is not None]
    assert subtasks
    for task in subtasks:
        parent = by_id[task["parent_task_id"]]
        assert task["id"] in parent["subtask_ids"] and parent["parent_task_id"] is None
    for task in dataset.tasks:
        assert task["subtask_ids"] is None or all(
            by_id[child]["parent_task_id"] == task["id"] for child in task["subtask_ids"]
        )


def test_tasks_have_a_generator_of_their_own():
    """More or fewer tasks leave every other stream of a seed as it was, and the other way round."""
    dataset = generate(5, issues=150, now=NOW)
    without_tasks = generate(5, issues=150, now=NOW, tasks=0)
    assert without_tasks.tasks == [] and dataclasses.replace(dataset, tasks=[]) == without_tasks
    assert generate(5, issues=10, now=NOW).tasks == dataset.tasks
    other_seed = generate(6, issues=10, now=NOW).tasks
    assert {t["id"] for t in dataset.tasks}.isdisjoint(t["id"] for t in other_seed)
