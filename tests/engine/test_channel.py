"""The bounded in-process channel between capture and worker."""

from __future__ import annotations

import threading
import time

import pytest

from flusso_engine.errors import QueueClosed
from flusso_engine.queue.channel import ChannelQueue

from tests.engine.fakes import Background, change


def filled(capacity: int, count: int) -> ChannelQueue:
    queue = ChannelQueue(capacity)
    for seq in range(count):
        queue.put(change(seq, seq))
    return queue


def seqs(batch: list) -> list[int]:
    return [item.ack.seq for item in batch]


def test_takes_in_fifo_order_up_to_max_count() -> None:
    queue = filled(10, 5)

    assert seqs(queue.take(3, 0.0)) == [0, 1, 2]
    assert seqs(queue.take(3, 0.0)) == [3, 4]


def test_take_waits_up_to_max_delay_for_a_full_batch() -> None:
    queue = filled(10, 1)

    started = time.monotonic()
    batch = queue.take(5, 0.05)

    assert seqs(batch) == [0]
    assert 0.04 <= time.monotonic() - started < 1.0


def test_take_returns_as_soon_as_the_batch_is_full() -> None:
    queue = ChannelQueue(10)
    taken_batches: list[list] = []
    taken = Background(lambda: taken_batches.append(queue.take(3, 10.0)))
    for seq in range(3):
        queue.put(change(seq, seq))

    taken.join(timeout=2)

    assert seqs(taken_batches[0]) == [0, 1, 2]


def test_take_blocks_for_the_first_change() -> None:
    queue = ChannelQueue(10)
    batches: list[list] = []
    taker = Background(lambda: batches.append(queue.take(1, 0.0)))
    time.sleep(0.05)
    assert batches == []

    queue.put(change(1, 0))
    taker.join()

    assert seqs(batches[0]) == [0]


def test_put_blocks_while_full_until_a_take_makes_room() -> None:
    queue = filled(2, 2)
    third_put = threading.Event()
    putter = Background(lambda: (queue.put(change(2, 2)), third_put.set()))
    assert not third_put.wait(0.05)

    queue.take(1, 0.0)
    putter.join()

    assert third_put.is_set()


def test_a_full_queue_wakes_a_taker_waiting_for_a_larger_batch() -> None:
    queue = ChannelQueue(2)
    moved: list[int] = []

    def take_all() -> None:
        while len(moved) < 100:
            moved.extend(seqs(queue.take(50, 10.0)))

    taker = Background(take_all)
    for seq in range(100):
        queue.put(change(seq, seq))
    taker.join(timeout=2)

    assert moved == list(range(100))


def test_close_lets_takers_drain_then_returns_empty() -> None:
    queue = filled(10, 2)
    queue.close()

    assert seqs(queue.take(10, 10.0)) == [0, 1]
    assert queue.take(10, 10.0) == []


def test_close_wakes_a_blocked_taker_with_what_it_gathered() -> None:
    queue = filled(10, 1)
    batches: list[list] = []
    taker = Background(lambda: batches.append(queue.take(5, 10.0)))
    time.sleep(0.02)

    queue.close()
    taker.join(timeout=1)

    assert seqs(batches[0]) == [0]


def test_put_on_a_closed_queue_raises() -> None:
    queue = ChannelQueue(1)
    queue.close()

    with pytest.raises(QueueClosed):
        queue.put(change(1, 0))


def test_close_releases_a_blocked_putter_with_queue_closed() -> None:
    queue = filled(1, 1)
    putter = Background(lambda: queue.put(change(2, 1)))
    time.sleep(0.02)

    queue.close()
    putter.join(timeout=1)

    assert isinstance(putter.error, QueueClosed)


def test_empty_says_whether_anything_waits() -> None:
    queue = ChannelQueue(4)
    assert queue.empty()
    queue.put(change(1, 0))
    assert not queue.empty()


def test_rejects_a_capacity_below_one() -> None:
    with pytest.raises(ValueError, match="capacity"):
        ChannelQueue(0)


def test_moves_many_changes_between_threads_in_order() -> None:
    queue = ChannelQueue(64)
    total = 20_000

    def produce() -> None:
        for seq in range(total):
            queue.put(change(seq, seq))
        queue.close()

    producer = Background(produce)
    received: list[int] = []
    while batch := queue.take(256, 0.01):
        received.extend(seqs(batch))
    producer.join()

    assert received == list(range(total))


def test_take_stops_gathering_once_enough_says_so_after_the_min_delay() -> None:
    queue = filled(10, 1)

    started = time.monotonic()
    batch = queue.take(5, 10.0, 0.05, enough=lambda: True)

    assert seqs(batch) == [0]
    assert 0.04 <= time.monotonic() - started < 1.0


def test_a_nudge_makes_a_gathering_take_ask_enough_again() -> None:
    queue = filled(10, 1)
    ready = threading.Event()
    batches: list[list] = []
    taker = Background(lambda: batches.append(queue.take(5, 10.0, 0.0, enough=ready.is_set)))
    time.sleep(0.05)
    assert batches == []

    ready.set()
    queue.nudge()
    taker.join(timeout=2)

    assert seqs(batches[0]) == [0]
