"""The client-side limiter keeps every endpoint inside its sliding-window budget."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from pylon_dagster.pylon.endpoints import RATE_LIMITS_PER_MINUTE, endpoint_for
from pylon_dagster.pylon.pacing import EndpointLimiters, SlidingWindowLimiter


def _completion_times(limiter: SlidingWindowLimiter, requests: int, workers: int) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()

    def one_request(_: int) -> None:
        with limiter.slot():
            pass
        with lock:
            times.append(time.monotonic())

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one_request, range(requests)))
    return sorted(times)


def test_no_window_ever_holds_more_than_the_limit():
    limit, window = 5, 0.2
    times = _completion_times(SlidingWindowLimiter(limit, window), requests=4 * limit, workers=4)
    for earlier, later in zip(times, times[limit:], strict=False):
        assert later - earlier >= window * 0.99


def test_pacing_is_close_to_the_budget_not_slower():
    limit, window, requests = 10, 0.2, 40
    started = time.monotonic()
    _completion_times(SlidingWindowLimiter(limit, window), requests=requests, workers=3)
    elapsed = time.monotonic() - started
    lower_bound = (requests / limit - 1) * window  # the first window's burst is free
    assert lower_bound <= elapsed < lower_bound + window


def test_endpoints_have_separate_budgets():
    limiters = EndpointLimiters({"GET /a": 1, "GET /b": 1}, window_seconds=30)
    with limiters.slot("GET /a") as waited_a, limiters.slot("GET /b") as waited_b:
        # A shared budget of 1 would block the second slot for the whole 30 s window.
        assert waited_a < 1.0 and waited_b < 1.0


def test_endpoint_catalogue_matches_concrete_paths_and_presets():
    assert endpoint_for("GET", "/issues/abc-123/messages").key == "GET /issues/{id}/messages"
    assert endpoint_for("POST", "/issues/search").key == "POST /issues/search"
    assert endpoint_for("GET", "/issues/search").key == "GET /issues/{id}"
    assert endpoint_for("DELETE", "/issues/x") is None
    april, october = RATE_LIMITS_PER_MINUTE["2026-04"], RATE_LIMITS_PER_MINUTE["2026-10"]
    assert april["POST /issues/search"] == 20 and october["POST /issues/search"] == 120
    assert april["GET /issue-statuses"] == 10 and october["GET /issue-statuses"] == 30
    assert april["GET /accounts"] == 60 and october["GET /accounts"] == 300
