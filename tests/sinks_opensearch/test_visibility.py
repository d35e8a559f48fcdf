"""How often caught-up flushes are refreshed, and on which thread: an isolated one at once, on
the flushing thread; a steady stream from a thread of its own, a period after the last refresh
ended, covering every index that came due meanwhile."""

from __future__ import annotations

import threading
import time

from flusso_engine.sinks.opensearch.visibility import Visibility

PERIOD = 0.3


class Refreshes:
    """Records each refresh with the indexes it covered."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.called = threading.Event()

    def __call__(self, indexes: list[str]) -> None:
        self.calls.append(indexes)
        self.called.set()


def test_the_first_caught_up_flush_is_refreshed_before_it_returns() -> None:
    refreshes = Refreshes()
    Visibility(refreshes, PERIOD).caught_up(["a"])
    assert refreshes.calls == [["a"]]


def test_a_caught_up_flush_within_the_period_is_refreshed_when_the_period_ends() -> None:
    refreshes = Refreshes()
    visibility = Visibility(refreshes, PERIOD)
    visibility.caught_up(["a"])
    refreshes.called.clear()
    started = time.monotonic()
    visibility.caught_up(["b"])
    assert refreshes.calls == [["a"]]
    assert refreshes.called.wait(5)
    assert refreshes.calls == [["a"], ["b"]]
    assert time.monotonic() - started <= PERIOD + 0.2


def test_flushes_within_one_period_share_one_refresh_of_all_their_indexes() -> None:
    refreshes = Refreshes()
    visibility = Visibility(refreshes, PERIOD)
    visibility.caught_up(["a"])
    refreshes.called.clear()
    for index in ("c", "b", "c"):
        visibility.caught_up([index])
    assert refreshes.called.wait(5)
    time.sleep(PERIOD)
    assert refreshes.calls == [["a"], ["b", "c"]]


def test_a_caught_up_flush_after_the_period_is_refreshed_at_once_again() -> None:
    refreshes = Refreshes()
    visibility = Visibility(refreshes, PERIOD)
    visibility.caught_up(["a"])
    time.sleep(PERIOD + 0.05)
    visibility.caught_up(["a"])
    assert refreshes.calls == [["a"], ["a"]]


def test_a_period_of_zero_refreshes_every_caught_up_flush_at_once() -> None:
    refreshes = Refreshes()
    visibility = Visibility(refreshes, 0)
    for _ in range(3):
        visibility.caught_up(["a"])
    assert refreshes.calls == [["a"]] * 3


def test_a_caught_up_flush_with_no_documents_refreshes_nothing() -> None:
    refreshes = Refreshes()
    Visibility(refreshes, PERIOD).caught_up([])
    assert refreshes.calls == []


def test_closing_refreshes_what_is_still_due_at_once() -> None:
    refreshes = Refreshes()
    visibility = Visibility(refreshes, 60)
    visibility.caught_up(["a"])
    visibility.caught_up(["b"])
    visibility.close()
    assert refreshes.calls == [["a"], ["b"]]


def test_under_a_steady_stream_of_flushes_only_the_first_is_refreshed_on_the_flushing_thread() -> None:
    threads: list[str] = []
    visibility = Visibility(lambda indexes: threads.append(threading.current_thread().name), PERIOD)
    for _ in range(12):
        visibility.caught_up(["a"])
        time.sleep(PERIOD / 4)
    visibility.close()
    assert threads[0] == threading.current_thread().name
    assert len(threads) >= 3 and set(threads[1:-1]) == {"flusso-refresh"}


def two_refreshes(taking: float) -> list[tuple[float, float]]:
    """(start, end) of the first two refreshes of a steady stream, each refresh taking `taking` s."""
    spans: list[tuple[float, float]] = []

    def slow_refresh(indexes: list[str]) -> None:
        started = time.monotonic()
        time.sleep(taking)
        spans.append((started, time.monotonic()))

    visibility = Visibility(slow_refresh, PERIOD)
    visibility.caught_up(["a"])
    visibility.caught_up(["b"])
    deadline = time.monotonic() + 10
    while len(spans) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(spans) == 2
    return spans


def test_the_next_refresh_starts_a_period_after_the_previous_one_ended() -> None:
    first, second = two_refreshes(taking=PERIOD)
    assert second[0] - first[1] >= PERIOD - 0.01


def test_a_refresh_slower_than_the_period_is_followed_by_a_pause_as_long_as_it_took() -> None:
    first, second = two_refreshes(taking=3 * PERIOD)
    assert second[0] - first[1] >= 3 * PERIOD - 0.01
