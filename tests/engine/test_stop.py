"""Stopping a run from another thread: prompt, clean, and never confirming the unflushed."""

from __future__ import annotations

import threading

from flusso_engine.engine import Engine
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import (
    USERS,
    Background,
    InMemoryBuilder,
    Journal,
    RecordingObserver,
    RecordingSink,
    ScriptedCapture,
    changes,
    snapshot_rows,
)
from tests.engine.waiting import eventually


def test_graceful_stop_confirms_only_flushed_changes() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2, 3, 4, 5, 6), hold_open=True)
    gate = threading.Event()
    sink = RecordingSink(journal, flush_gate=gate)
    builder = InMemoryBuilder(journal)
    observer = RecordingObserver()
    engine = Engine(
        capture,
        builder,
        sink,
        batch=BatchPolicy(max_changes=2, max_delay=10.0, idle_delay=None),
        observer=observer,
        skip_backfill=True,
    )

    run = Background(engine.run)
    assert sink.in_flush.wait(5)
    # The next batch is built while the first one flushes; the third waits for a slot.
    assert eventually(lambda: "build users 3,4" in journal)
    engine.stop()
    gate.set()
    run.join()

    assert run.error is None
    assert sink.flushes == [False, False]
    assert capture.confirmed_seqs == [0, 1, 2, 3]
    assert capture.closed and builder.closed and sink.closed
    assert observer.named("error") == [] and observer.events[-1] == ("stopped", ())


def test_stop_while_idle_ends_the_run_promptly() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, hold_open=True)
    engine = Engine(capture, InMemoryBuilder(journal), RecordingSink(journal), skip_backfill=True)

    run = Background(engine.run)
    engine.stop()
    run.join(timeout=2)

    assert run.error is None and capture.closed


def test_stop_during_backfill_leaves_the_index_unseeded_and_skips_live() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(9), snapshot={USERS: snapshot_rows(1, 2, 3, 4)})
    gate = threading.Event()
    sink = RecordingSink(journal, flush_gate=gate)
    observer = RecordingObserver()
    engine = Engine(
        capture,
        InMemoryBuilder(journal),
        sink,
        batch=BatchPolicy(max_changes=1, max_delay=10.0, idle_delay=None),
        backfill_batch=BatchPolicy(max_changes=1, max_delay=10.0, idle_delay=None),
        observer=observer,
    )

    run = Background(engine.run)
    assert sink.in_flush.wait(5)
    assert eventually(lambda: "build users 2" in journal)
    engine.stop()
    gate.set()
    run.join()

    assert run.error is None
    assert journal.entries("mark_seeded") == []
    assert observer.named("live_started") == []
    assert capture.confirmed_seqs == [0, 1]
