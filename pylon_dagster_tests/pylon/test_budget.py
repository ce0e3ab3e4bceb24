"""The rate budget: what a response teaches (in-process), and sharing it through Postgres."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from pylon_dagster.catalog.endpoints import RATE_LIMITS_PER_MINUTE
from pylon_dagster.catalog.rate_limits import RateLimitConfig
from pylon_dagster.pylon.budget import (
    PROBE_AFTER_WINDOWS,
    AdaptiveLimit,
    Priority,
)
from pylon_dagster.pylon.budget_postgres import (
    LIMITS_TABLE,
    REJECTIONS_TABLE,
    PostgresRateBudget,
)
from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders, parse_rate_limit_headers
from pylon_dagster.warehouse import PostgresWarehouse
from pylon_dagster.warehouse.sql import qualified

SEARCH = "POST /issues/search"
WINDOW = 60.0


def _limit(rate: float = 120, **fields) -> AdaptiveLimit:
    state = AdaptiveLimit.start(int(rate), "published 2026-10", now=0.0, window_seconds=WINDOW)
    return AdaptiveLimit(**{**state.__dict__, **fields})


# -- configuration -------------------------------------------------------------------------------


def test_no_configuration_starts_from_the_newest_published_limits():
    config = RateLimitConfig.parse("")
    assert config.limits == RATE_LIMITS_PER_MINUTE["2026-10"]
    assert config.limits[SEARCH] == 120 and config.source == "published 2026-10"
    assert RateLimitConfig.parse("auto") == config


def test_a_preset_or_per_endpoint_numbers_override():
    assert RateLimitConfig.parse("2026-04").limits[SEARCH] == 20
    config = RateLimitConfig.parse("POST /issues/search=7,  GET  /issues/{id}/messages = 9")
    assert config.limits[SEARCH] == 7 and config.limits["GET /issues/{id}/messages"] == 9
    assert config.limits["GET /accounts"] == 300 and config.source == "configured"


@pytest.mark.parametrize("raw", ["2025-01", "GET /nowhere=5", "POST /issues/search=0", "x=y"])
def test_a_bad_override_says_what_a_good_one_looks_like(raw: str):
    with pytest.raises(ValueError, match="ENDPOINT=REQUESTS_PER_MINUTE"):
        RateLimitConfig.parse(raw)


def test_the_presets_hold_the_published_figures():
    april, october = RATE_LIMITS_PER_MINUTE["2026-04"], RATE_LIMITS_PER_MINUTE["2026-10"]
    assert april["GET /issue-statuses"] == 10 and october["GET /issue-statuses"] == 30
    assert april["GET /accounts"] == 60 and october["GET /accounts"] == 300


# -- headers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"},
        {"x-rate-limit-limit": "20", "x-rate-limit-remaining": "0", "x-rate-limit-reset": "12.0"},
        {"RateLimit-Limit": "20", "RateLimit-Remaining": "0", "RateLimit-Reset": "12"},
        {"RateLimit": "limit=20, remaining=0, reset=12"},
        {
            "X-RateLimit-Limit": "20, 20;w=60",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1000000012",
        },
        {
            "X-RateLimit-Limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1000000012000",
        },
    ],
)
def test_every_common_spelling_of_the_rate_limit_headers_is_read(headers: dict[str, str]):
    parsed = parse_rate_limit_headers(headers, now=1_000_000_000)
    assert parsed == RateLimitHeaders(limit=20, remaining=0, reset_seconds=12.0)


def test_a_policy_names_the_window_its_limit_counts_in():
    parsed = parse_rate_limit_headers({"RateLimit-Policy": "5;w=1", "RateLimit-Remaining": "3"})
    assert parsed == RateLimitHeaders(limit=5, remaining=3, window_seconds=1.0)
    state = _limit(120).after_headers(parsed, now=1.0)
    assert (state.rate, state.ceiling) == (300, 300)  # 5 a second is 300 in our 60 s window


def test_no_or_garbled_headers_say_nothing():
    assert not parse_rate_limit_headers({"content-type": "application/json"}).said_anything
    assert parse_rate_limit_headers({"X-RateLimit-Limit": "lots"}) == RateLimitHeaders()


# -- learning --------------------------------------------------------------------------------------


def test_a_429_lowers_the_rate_to_what_the_server_accepted_and_pauses_everyone():
    state = _limit(120).after_429(taken_at=1.0, accepted_in_window=20, retry_after=7.5, now=2.0)
    assert state.rate == 20 and state.source == "learned from 429s"
    assert state.paused_for(2.0) == 7.5 and state.rate_limited_total == 1


def test_a_429_with_nothing_accepted_halves_the_rate():
    state = _limit(120).after_429(taken_at=1.0, accepted_in_window=0, retry_after=None, now=2.0)
    assert state.rate == 60 and state.paused_for(2.0) == WINDOW / 120


def test_a_429_at_what_the_server_accepted_still_lowers_the_rate():
    state = _limit(20).after_429(taken_at=1.0, accepted_in_window=20, retry_after=1, now=2.0)
    assert state.rate == 19


def test_requests_already_in_flight_at_a_decrease_do_not_decrease_again():
    first = _limit(120).after_429(taken_at=1.0, accepted_in_window=20, retry_after=1, now=2.0)
    second = first.after_429(taken_at=1.5, accepted_in_window=20, retry_after=3, now=2.1)
    assert second.rate == 20 and second.paused_until == 5.1
    later = second.after_429(taken_at=2.5, accepted_in_window=8, retry_after=1, now=3.0)
    assert later.rate == 8


def test_a_clean_rate_probes_higher_after_a_few_windows_and_a_failed_probe_is_undone():
    state = _limit(120).after_429(taken_at=1.0, accepted_in_window=20, retry_after=1, now=2.0)
    assert state.probed(2.0 + WINDOW) is state  # too early
    probed = state.probed(2.0 + PROBE_AFTER_WINDOWS * WINDOW)
    assert probed.rate == 21 and probed.stable_since == 2.0 + PROBE_AFTER_WINDOWS * WINDOW
    failed = probed.after_429(
        taken_at=probed.stable_since + 1,
        accepted_in_window=20,
        retry_after=1,
        now=probed.stable_since + 2,
    )
    assert failed.rate == 20


def test_probing_stops_at_the_ceiling():
    state = _limit(120)
    assert state.probed(10 * PROBE_AFTER_WINDOWS * WINDOW) is state


def test_headers_set_the_rate_outright_and_an_empty_budget_pauses_until_reset():
    state = _limit(120).after_headers(
        RateLimitHeaders(limit=20, remaining=0, reset_seconds=4), now=1.0
    )
    assert (state.rate, state.ceiling, state.source) == (20, 20, "headers")
    assert state.paused_for(1.0) == 4
    assert state.after_headers(RateLimitHeaders(limit=20, remaining=5), now=2.0) == state


def test_a_reset_far_away_pauses_one_window_at_most():
    daily = RateLimitHeaders(limit=20, remaining=0, reset_seconds=86_400)
    assert _limit(120).after_headers(daily, now=1.0).paused_for(1.0) == WINDOW


def test_headers_do_not_undo_a_recent_429_cut():
    """Something outside the budget uses the token: the server accepts 12 of our 20."""
    cut = _limit(20).after_429(taken_at=1.0, accepted_in_window=12, retry_after=0, now=2.0)
    heard = cut.after_headers(RateLimitHeaders(limit=20, remaining=3), now=3.0)
    assert (heard.rate, heard.ceiling) == (12, 20)
    later = heard.after_headers(
        RateLimitHeaders(limit=20, remaining=3), now=2.0 + PROBE_AFTER_WINDOWS * WINDOW
    )
    assert later.rate == 20  # long after the cut, the server's word stands again


def test_bulk_work_keeps_only_its_share_while_freshness_work_waits():
    state = _limit(120)
    assert state.allowance(Priority.BULK, now=1.0, bulk_share=0.25) == 120
    waiting = AdaptiveLimit(**{**state.__dict__, "freshness_waiting_until": 5.0})
    assert waiting.allowance(Priority.BULK, now=1.0, bulk_share=0.25) == 30
    assert waiting.allowance(Priority.FRESHNESS, now=1.0, bulk_share=0.25) == 120
    assert waiting.allowance(Priority.BULK, now=6.0, bulk_share=0.25) == 120


# -- shared through Postgres -----------------------------------------------------------------------


def _budget(warehouse: PostgresWarehouse, limit: int, window: float) -> PostgresRateBudget:
    warehouse.prepare()
    config = RateLimitConfig.parse(f"{SEARCH}={limit}", window_seconds=window)
    return PostgresRateBudget(
        warehouse.engine, warehouse.schema_name, api_host="http://pylon.test", config=config
    )


def test_processes_sharing_the_budget_never_put_more_than_the_limit_in_a_window(
    warehouse: PostgresWarehouse,
):
    """Two budget objects stand for two hosts; six threads hammer one endpoint through them."""
    limit, window, requests = 5, 0.3, 24
    budgets = [_budget(warehouse, limit, window), _budget(warehouse, limit, window)]
    done: list[float] = []
    lock = threading.Lock()

    def one_request(n: int) -> None:
        budget = budgets[n % 2]
        grant = budget.acquire(SEARCH, Priority.BULK)
        budget.release(grant, status_code=200, headers=RateLimitHeaders(), retry_after=None)
        with lock:
            done.append(grant.taken_at)

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(one_request, range(requests)))
    taken = sorted(done)
    assert len(taken) == requests
    # Slot taken times (database clock): the (limit+1)-th is at least a window after the first.
    for earlier, later in zip(taken, taken[limit:], strict=False):
        assert later - earlier >= window


def _waiting_for_a_lock(warehouse: PostgresWarehouse) -> bool:
    """Whether a statement on this test's schema is waiting for a row lock."""
    with warehouse.engine.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT count(*) > 0 FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND strpos(query, :schema) > 0"
            ),
            {"schema": warehouse.schema_name},
        ).scalar_one()


def test_a_process_that_waited_for_the_budget_stamps_its_slot_after_the_wait(
    warehouse: PostgresWarehouse,
):
    """Another process holds the endpoint's lock; one waiting behind it stamps its slot (and
    judges which slots left the window) with a time after the other let go, never one read
    before it waited: otherwise it could count fewer slots than the process before it."""
    budget = _budget(warehouse, 5, 60.0)
    first = budget.acquire(SEARCH, Priority.BULK)  # the endpoint's row exists from here
    budget.release(first, status_code=200, headers=RateLimitHeaders(), retry_after=None)
    limits = qualified(warehouse.schema_name, LIMITS_TABLE)
    with ThreadPoolExecutor(1) as pool, warehouse.engine.connect() as holder:
        holder.execute(sa.text(f"SELECT 1 FROM {limits} FOR UPDATE"))
        waiting = pool.submit(budget.acquire, SEARCH, Priority.BULK)
        while not _waiting_for_a_lock(warehouse):
            assert not waiting.done(), waiting.result()
        let_go_at = holder.execute(
            sa.text("SELECT extract(epoch from clock_timestamp())::float8")
        ).scalar_one()
        holder.commit()
        assert waiting.result().taken_at > let_go_at


def test_what_a_429_taught_is_shared_and_survives_a_new_process(warehouse: PostgresWarehouse):
    budget = _budget(warehouse, 120, 60.0)
    grants = [budget.acquire(SEARCH, Priority.BULK) for _ in range(21)]
    for grant in grants[:20]:
        budget.release(grant, status_code=200, headers=RateLimitHeaders(), retry_after=None)
    budget.release(grants[20], status_code=429, headers=RateLimitHeaders(), retry_after=0.0)

    restarted = _budget(warehouse, 120, 60.0)  # a new process: nothing but the database
    learned = restarted.current(SEARCH)
    assert (learned.rate, learned.source, learned.rate_limited_total) == (
        20,
        "learned from 429s",
        1,
    )
    assert restarted.try_acquire(SEARCH, Priority.BULK) is None  # 21 slots used, 20 allowed


def test_every_429_is_recorded_with_its_time_and_old_ones_are_forgotten(
    warehouse: PostgresWarehouse,
):
    """What `pylon-dagster status` counts as the last day's 429s: one row per 429, dated on the
    database's clock; a 429 more than a week old goes when the endpoint earns its next one."""
    budget = _budget(warehouse, 120, 0.5)
    table = f'"{warehouse.schema_name}"."{REJECTIONS_TABLE}"'
    with warehouse.engine.begin() as connection:
        connection.execute(
            sa.text(
                f"INSERT INTO {table} (api_host, endpoint, answered_at) "
                "VALUES (:host, :endpoint, clock_timestamp() - interval '8 days')"
            ),
            {"host": budget.api_host, "endpoint": SEARCH},
        )
    for status_code in (200, 429, 429):
        grant = budget.acquire(SEARCH, Priority.BULK)
        budget.release(grant, status_code=status_code, headers=RateLimitHeaders(), retry_after=0)

    with warehouse.engine.connect() as connection:
        ages = connection.execute(
            sa.text(f"SELECT clock_timestamp() - answered_at FROM {table} WHERE endpoint = :e"),
            {"e": SEARCH},
        ).scalars()
        assert [age < timedelta(days=1) for age in ages] == [True, True]


def test_a_changed_configuration_starts_afresh(warehouse: PostgresWarehouse):
    budget = _budget(warehouse, 120, 60.0)
    grant = budget.acquire(SEARCH, Priority.BULK)
    budget.release(grant, status_code=429, headers=RateLimitHeaders(), retry_after=0.01)
    assert budget.current(SEARCH).rate == 60  # nothing accepted in the window: halved
    assert _budget(warehouse, 30, 60.0).current(SEARCH).rate == 30


def test_freshness_work_waiting_caps_bulk_work_at_its_share(warehouse: PostgresWarehouse):
    budget = _budget(warehouse, 4, 60.0)  # a long window: nothing expires by itself here
    budget.bulk_share = 0.5
    for _ in range(4):
        assert budget.try_acquire(SEARCH, Priority.BULK) is not None
    assert budget.try_acquire(SEARCH, Priority.FRESHNESS) is None  # full: freshness now waits
    assert budget.current(SEARCH).freshness_waiting_until is not None
    with warehouse.connection() as connection:  # two slots leave the window
        connection.exec_driver_sql(
            f"DELETE FROM {warehouse.schema_name}.pylon_rate_slots "
            f"WHERE id IN (SELECT id FROM {warehouse.schema_name}.pylon_rate_slots LIMIT 2)"
        )
    assert budget.try_acquire(SEARCH, Priority.BULK) is None  # 2 used: bulk's share is 2 of 4
    assert budget.try_acquire(SEARCH, Priority.FRESHNESS) is not None
    assert budget.try_acquire(SEARCH, Priority.FRESHNESS) is not None
