"""Flow control: back-pressure, batch closing by delay, and the caught-up signal."""

from __future__ import annotations

import threading
import time

from flusso_engine.engine import Engine
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import (
    Background,
    InMemoryBuilder,
    Journal,
    PausingCapture,
    RecordingObserver,
    RecordingSink,
    ScriptedCapture,
    changes,
)
from tests.engine.waiting import eventually


def test_back_pressure_blocks_the_capture_while_the_queue_is_full() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(*range(100)))
    gate = threading.Event()
    sink = RecordingSink(journal, flush_gate=gate)
    engine = Engine(
        capture,
        InMemoryBuilder(journal),
        sink,
        queue_capacity=4,
        batch=BatchPolicy(max_changes=2, max_delay=10.0, idle_delay=None),
        skip_backfill=True,
    )

    run = Background(engine.run)
    assert sink.in_flush.wait(5)
    # Two changes in the batch held in its flush, two in the batch built ahead of it, four in
    # the queue, one waiting in the capture's hand.
    assert eventually(lambda: capture.pulled >= 9)
    time.sleep(0.1)
    assert capture.pulled == 9
    gate.set()
    run.join()

    assert run.error is None
    assert capture.confirmed_seqs == list(range(100))


def test_max_delay_flushes_a_partial_batch() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2, 3), hold_open=True)
    sink = RecordingSink(journal)
    engine = Engine(
        capture,
        InMemoryBuilder(journal),
        sink,
        batch=BatchPolicy(max_changes=100, max_delay=0.05),
        skip_backfill=True,
    )

    run = Background(engine.run)
    confirmed_while_open = eventually(lambda: capture.confirmed_seqs == [0, 1, 2])
    engine.stop()
    run.join()

    assert confirmed_while_open
    assert sink.flushes[-1] is True


def test_caught_up_is_reported_exactly_when_the_queue_drained() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2, 3, 4, 5))
    observer = RecordingObserver()
    # Hold the first batch until the whole stream is queued: a backlog is waiting behind it.
    builder = InMemoryBuilder(journal, on_resolve=lambda: capture.exhausted.wait(5))
    sink = RecordingSink(journal)

    Engine(
        capture,
        builder,
        sink,
        batch=BatchPolicy(max_changes=2, max_delay=10.0, idle_delay=None),
        observer=observer,
        skip_backfill=True,
    ).run()

    assert sink.flushes == [False, False, True]
    names = [name for name, _ in observer.events if name in ("batch_flushed", "caught_up")]
    assert names == ["batch_flushed", "batch_flushed", "batch_flushed", "caught_up"]


def test_a_change_arriving_while_nothing_is_being_flushed_is_not_held_for_the_batch_delay() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1), hold_open=True)
    engine = Engine(
        capture, InMemoryBuilder(journal), RecordingSink(journal),
        batch=BatchPolicy(max_changes=100, max_delay=10.0), skip_backfill=True,
    )

    run = Background(engine.run)
    confirmed_at_once = eventually(lambda: capture.confirmed_seqs == [0], timeout=2)
    engine.stop()
    run.join()

    assert confirmed_at_once


def test_a_batch_gathers_while_the_previous_one_flushes_and_closes_when_that_flush_ends() -> None:
    journal = Journal()
    gate = threading.Event()
    sink = RecordingSink(journal, flush_gate=gate)
    capture = PausingCapture(journal, sink.in_flush, changes(1, 2, 3))
    engine = Engine(capture, InMemoryBuilder(journal), sink, batch=BatchPolicy(max_changes=100, max_delay=10.0), skip_backfill=True)

    run = Background(engine.run)
    assert eventually(lambda: capture.exhausted.is_set())
    gathering = not eventually(lambda: "build users 2,3" in journal, timeout=0.3)
    gate.set()
    closed_at_once = eventually(lambda: capture.confirmed_seqs == [0, 1, 2], timeout=2)
    engine.stop()
    run.join()

    assert gathering and closed_at_once
    assert journal.entries("build") == ["build users 1", "build users 2,3"]
