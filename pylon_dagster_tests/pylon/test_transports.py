"""The client's transport layers, each alone and stacked, over `httpx.MockTransport`: the retry
layer (5xx, timeouts, dropped connections, `Retry-After`, stop), the budget layer (a slot per
request, what each response taught), and the whole-body layer (the request's deadline). Waits and
clocks are injected: nothing here sleeps or reads the wall clock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from pylon_dagster.pylon.budget import Priority
from pylon_dagster.pylon.budget_transport import UNPACED_WINDOW_SECONDS, BudgetTransport
from pylon_dagster.pylon.errors import PylonStoppedError, PylonUnavailableError
from pylon_dagster.pylon.ratelimit_headers import RateLimitHeaders
from pylon_dagster.pylon.retry import RetrySettings, RetryTransport, retry_after_seconds
from pylon_dagster.pylon.stats import ENDPOINT_EXTENSION, RequestStats
from pylon_dagster.pylon.whole_body import WholeBodyTransport
from pylon_dagster_tests.pylon.fake_budget import RecordingBudget

SECRET = "s3cret-token"
ME = "GET /me"
SETTINGS = RetrySettings(max_attempts=4, backoff_base_seconds=1.0, backoff_max_seconds=60.0)
Handler = Callable[[httpx.Request], httpx.Response]


def _request() -> httpx.Request:
    return httpx.Request(
        "GET", "https://pylon.test/me?limit=1", extensions={ENDPOINT_EXTENSION: ME}
    )


def _answers(*answers: httpx.Response | Exception) -> Handler:
    """A handler that answers (or raises) each of `answers` in turn, then fails the test."""
    queue: Iterator[httpx.Response | Exception] = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(queue)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


class Waits:
    """Records the waits the retry layer asks for, instead of waiting; may set `stop` at one."""

    def __init__(self, stop: threading.Event | None = None, stop_at: int | None = None):
        self.seconds: list[float] = []
        self._stop = stop
        self._stop_at = stop_at

    def __call__(self, seconds: float) -> bool:
        self.seconds.append(seconds)
        if self._stop is not None and len(self.seconds) == self._stop_at:
            self._stop.set()
        return False


def _retrying(
    inner: httpx.BaseTransport,
    waits: Waits,
    *,
    stats: RequestStats | None = None,
    stop: threading.Event | None = None,
    settings: RetrySettings = SETTINGS,
    malformed: Callable[[httpx.Response], str | None] = lambda _: None,
) -> RetryTransport:
    return RetryTransport(
        inner,
        settings=settings,
        stats=stats or RequestStats(),
        stop=stop or threading.Event(),
        scrub=lambda text: text.replace(SECRET, "***"),
        malformed=malformed,
        wait=waits,
    )


# -- retry -----------------------------------------------------------------------------------------


def test_server_errors_timeouts_and_dropped_connections_are_retried_with_jittered_backoff():
    sent: list[httpx.Request] = []
    answers = _answers(
        httpx.Response(503),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.Response(200, json={"data": {}}),
    )
    stats = RequestStats()
    waits = Waits()

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers(request)

    response = _retrying(httpx.MockTransport(handler), waits, stats=stats).handle_request(
        _request()
    )

    assert response.status_code == 200 and len(sent) == 4
    # Full jitter: anywhere from nothing to 1, 2, then 4 seconds.
    assert len(waits.seconds) == 3
    assert all(0 <= wait <= 2**i for i, wait in enumerate(waits.seconds))
    assert (stats.retries, stats.server_errors, stats.transport_errors) == (3, 1, 2)


def test_retry_after_is_waited_instead_of_the_backoff_and_capped():
    far = "Wed, 21 Oct 2099 07:28:00 GMT"
    answers = _answers(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(503, headers={"Retry-After": "2.5"}),
        httpx.Response(429, headers={"Retry-After": far}),
        httpx.Response(200, json={}),
    )
    stats = RequestStats()
    waits = Waits()
    settings = RetrySettings(max_attempts=4, backoff_base_seconds=0.0, retry_after_max_seconds=90)

    _retrying(httpx.MockTransport(answers), waits, stats=stats, settings=settings).handle_request(
        _request()
    )

    assert waits.seconds == [7.0, 2.5, 90.0]
    assert (stats.rate_limited, stats.server_errors, stats.retries) == (2, 1, 3)


@pytest.mark.parametrize("value", ["nan", "inf", "soon", ""])
def test_a_retry_after_that_is_no_number_of_seconds_or_date_falls_back_to_the_backoff(value: str):
    answers = _answers(httpx.Response(429, headers={"Retry-After": value}), httpx.Response(200))
    waits = Waits()
    settings = RetrySettings(max_attempts=2, backoff_base_seconds=0.5, backoff_max_seconds=0.5)

    _retrying(httpx.MockTransport(answers), waits, settings=settings).handle_request(_request())

    assert len(waits.seconds) == 1 and 0 <= waits.seconds[0] <= 0.5


def test_retry_after_as_an_http_date_counts_from_now():
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    response = httpx.Response(429, headers={"Retry-After": format_datetime(now, usegmt=True)})
    assert retry_after_seconds(response, 300.0, now=now - timedelta(seconds=42)) == 42.0
    assert retry_after_seconds(response, 300.0, now=now + timedelta(seconds=1)) == 0.0


def test_the_last_failure_is_raised_scrubbed_naming_the_url_without_its_query():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused while sending Bearer {SECRET}")

    waits = Waits()
    with pytest.raises(PylonUnavailableError) as caught:
        _retrying(httpx.MockTransport(handler), waits).handle_request(_request())

    message = str(caught.value)
    assert message.startswith("GET https://pylon.test/me still failed after 4 attempts")
    assert "ConnectError: refused while sending Bearer ***" in message
    assert SECRET not in message and len(waits.seconds) == 3


def test_a_malformed_answer_is_retried_and_others_are_returned_at_once():
    answers = _answers(httpx.Response(200, text="<html>"), httpx.Response(404, json={}))
    waits = Waits()

    def malformed(response: httpx.Response) -> str | None:
        return "not JSON" if response.text == "<html>" else None

    response = _retrying(httpx.MockTransport(answers), waits, malformed=malformed).handle_request(
        _request()
    )

    assert response.status_code == 404 and len(waits.seconds) == 1


def test_a_stop_during_a_wait_sends_nothing_more():
    sent: list[httpx.Request] = []
    stop = threading.Event()
    waits = Waits(stop, stop_at=1)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    with pytest.raises(PylonStoppedError):
        _retrying(httpx.MockTransport(handler), waits, stop=stop).handle_request(_request())
    assert len(sent) == 1


def test_by_default_the_wait_is_on_the_stop_event_so_a_stop_ends_it():
    """Without an injected wait, a stop set during the hour a 503 asks for ends the wait at once
    (an hour on any other clock would outlast the test's timeout)."""
    stop = threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        stop.set()  # as Ctrl-C would, while the answer arrives
        return httpx.Response(503, headers={"Retry-After": "3600"})

    transport = RetryTransport(
        httpx.MockTransport(handler),
        settings=RetrySettings(retry_after_max_seconds=3600),
        stats=RequestStats(),
        stop=stop,
        scrub=str,
    )
    with pytest.raises(PylonStoppedError):
        transport.handle_request(_request())


# -- budget ----------------------------------------------------------------------------------------


class Reports:
    """A progress sink that keeps the requests reported to it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, float | None, float]] = []

    def planned(self, stream: str, fetches: int | None) -> None:
        raise AssertionError("the client plans nothing")

    def advanced(self, stream: str, *, records: int = 0, fetches: int = 0) -> None:
        raise AssertionError("the client advances nothing")

    def requested(self, endpoint: str, rate: float | None, window_seconds: float) -> None:
        self.sent.append((endpoint, rate, window_seconds))


def _budgeted(
    inner: httpx.BaseTransport,
    budget: RecordingBudget | None,
    *,
    stats: RequestStats,
    progress: Reports,
) -> BudgetTransport:
    return BudgetTransport(
        inner,
        budget=budget,
        priority=Priority.FRESHNESS,
        stats=stats,
        stop=threading.Event(),
        retry_after_max_seconds=300.0,
        progress=progress,
    )


def test_every_attempt_takes_a_slot_and_hands_back_what_its_answer_said():
    answers = _answers(
        httpx.Response(429, headers={"Retry-After": "3", "X-RateLimit-Limit": "20"}),
        httpx.ReadError("connection reset"),
        httpx.Response(500, headers={"Retry-After": "1"}),
        httpx.Response(200, headers={"RateLimit": "limit=20, remaining=4, reset=9"}, json={}),
    )
    budget = RecordingBudget(window_seconds=30.0)
    stats = RequestStats()
    progress = Reports()
    waits = Waits()
    stack = _retrying(
        _budgeted(httpx.MockTransport(answers), budget, stats=stats, progress=progress),
        waits,
        stats=stats,
    )

    assert stack.handle_request(_request()).status_code == 200

    assert budget.acquired == [(ME, Priority.FRESHNESS)] * 4
    assert budget.released == [
        (429, RateLimitHeaders(limit=20), 3.0),  # Retry-After goes to the budget for 429s only
        (None, RateLimitHeaders(), None),
        (500, RateLimitHeaders(), None),
        (200, RateLimitHeaders(limit=20, remaining=4, reset_seconds=9.0), None),
    ]
    assert waits.seconds[0] == 3.0 and waits.seconds[2] == 1.0
    assert progress.sent == [(ME, 120.0, 30.0)] * 4
    assert stats.requests == 4 and stats.by_endpoint == {ME: 4}
    assert stats.rates == {ME: "120 per 30s (published 2026-10)"}


def test_a_request_ended_by_anything_dates_its_slot_without_a_status():
    class Interrupted(BaseException):
        pass

    def handler(request: httpx.Request) -> httpx.Response:
        raise Interrupted()

    budget = RecordingBudget()
    transport = _budgeted(
        httpx.MockTransport(handler), budget, stats=RequestStats(), progress=Reports()
    )
    with pytest.raises(Interrupted):
        transport.handle_request(_request())
    assert budget.released == [(None, RateLimitHeaders(), None)]


def test_without_a_budget_requests_are_counted_and_reported_unpaced():
    stats = RequestStats()
    progress = Reports()
    transport = _budgeted(
        httpx.MockTransport(lambda _: httpx.Response(200)), None, stats=stats, progress=progress
    )
    transport.handle_request(_request())
    transport.handle_request(httpx.Request("GET", "https://pylon.test/teams"))

    assert progress.sent == [
        (ME, None, UNPACED_WINDOW_SECONDS),
        ("GET /teams", None, UNPACED_WINDOW_SECONDS),  # no endpoint named: method and path
    ]
    assert stats.requests == 2 and stats.paced_seconds == 0 and stats.rates == {}


# -- whole body ------------------------------------------------------------------------------------


class TickingClock:
    """A clock that moves `step` seconds each time it is read."""

    def __init__(self, step: float):
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_a_body_still_arriving_at_the_deadline_is_a_read_timeout():
    chunks = [b'{"data": ', b"[1, ", b"2]}"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=_Chunks(chunks))

    # The clock reads 1 when sent, then 2, 3, 4 as the chunks arrive: past a 2.5 s deadline.
    transport = WholeBodyTransport(
        httpx.MockTransport(handler), deadline_seconds=2.5, clock=TickingClock(1.0)
    )
    with pytest.raises(httpx.ReadTimeout, match=r"still arriving after the 2\.5s deadline"):
        transport.handle_request(_request())

    roomy = WholeBodyTransport(
        httpx.MockTransport(handler), deadline_seconds=10, clock=TickingClock(1.0)
    )
    response = roomy.handle_request(_request())
    assert response.json() == {"data": [1, 2]} and response.request.url.path == "/me"


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]):
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks


@pytest.mark.parametrize("seconds", [0, -1, float("inf"), float("nan")])
def test_a_deadline_that_is_no_positive_number_is_refused(seconds: float):
    with pytest.raises(ValueError, match="request_deadline must be a positive number"):
        WholeBodyTransport(
            httpx.MockTransport(lambda _: httpx.Response(200)), deadline_seconds=seconds
        )


def test_a_truncated_body_is_retried_on_a_new_slot_and_its_slot_dated_without_a_status():
    """The stack as the client builds it: retry, then budget, then the body read whole."""

    class Truncated(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b'{"data": ['
            raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    answers = _answers(
        httpx.Response(200, stream=Truncated()), httpx.Response(200, json={"data": []})
    )
    budget = RecordingBudget()
    stats = RequestStats()
    waits = Waits()
    stack = _retrying(
        _budgeted(
            WholeBodyTransport(httpx.MockTransport(answers)),
            budget,
            stats=stats,
            progress=Reports(),
        ),
        waits,
        stats=stats,
    )

    assert stack.handle_request(_request()).json() == {"data": []}
    assert [status for status, _, _ in budget.released] == [None, 200]
    assert (stats.requests, stats.transport_errors, stats.retries) == (2, 1, 1)
