"""A stop signal the kernel hands to a run's thread, not the main one, is still answered while
the run goes on: the sync's main thread waits on its runs in a way that lets Python run the
handler (`wait_answering_signals`). `test_killed_runs.py` stops whole syncs; which thread gets the
signal there is the kernel's choice, so this pins the rare case down."""

from __future__ import annotations

import linecache
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

import pytest

from pylon_dagster.sync import wait_answering_signals

HANDLER_WAIT_SECONDS = 60
"""How long the run waits for the handler: far longer than the main thread's check interval,
so a main thread that cannot run the handler until the run ends fails the test."""
BLOCKED_POLLS = 5


@pytest.fixture
def handled() -> Iterator[threading.Event]:
    """Set by a SIGUSR1 handler installed for the test."""
    event = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda _signum, _frame: event.set())
    yield event
    signal.signal(signal.SIGUSR1, previous)


def test_a_signal_received_by_a_runs_thread_is_handled_while_the_run_waits_for_it(
    handled: threading.Event,
) -> None:
    main = threading.main_thread().ident
    assert main == threading.get_ident()

    def run_held_until_the_handler_ran() -> bool:
        waiting_in_a_lock.join()  # the signal must come once the main thread waits
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)  # to this thread only
        return handled.wait(HANDLER_WAIT_SECONDS)

    waiting_in_a_lock = threading.Thread(target=lambda: watch_until_waiting(main))
    waiting_in_a_lock.start()

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(run_held_until_the_handler_ran)
        wait_answering_signals([future])
    assert future.result() is True


def watch_until_waiting(thread_id: int) -> None:
    """Return once the thread `thread_id` is blocked in a lock of `threading.Condition.wait`
    (where a future's wait blocks): seen there, at the same instruction, several polls running."""
    seen: list[tuple[int, int]] = []
    while len(seen) < BLOCKED_POLLS or len(set(seen[-BLOCKED_POLLS:])) > 1:
        frame = sys._current_frames().get(thread_id)
        seen.append((id(frame), frame.f_lasti) if waiting_in_a_lock(frame) else (0, len(seen)))
        time.sleep(0.001)  # polls the thread's state: what is waited for is a condition


def waiting_in_a_lock(frame: FrameType | None) -> bool:
    return (
        frame is not None
        and frame.f_code.co_filename == threading.__file__
        and frame.f_code.co_name == "wait"
        and "acquire(" in linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    )


def test_a_runs_exception_is_raised_by_the_wait() -> None:
    def failing_run() -> None:
        raise ValueError("the run failed")

    with ThreadPoolExecutor(1) as pool, pytest.raises(ValueError, match="the run failed"):
        wait_answering_signals([pool.submit(failing_run)])
