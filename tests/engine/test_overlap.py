"""Overlap: the next batch is built while the previous one flushes, and acks keep batch order."""

from __future__ import annotations

import threading

from flusso_engine.engine import Engine
from flusso_engine.errors import FlushError
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import (
    Background,
    InMemoryBuilder,
    Journal,
    RecordingSink,
    ScriptedCapture,
    changes,
)
from tests.engine.waiting import eventually

PAIRS = BatchPolicy(max_changes=2, max_delay=10.0, idle_delay=None)


def held_run(
    journal: Journal, batch: BatchPolicy, fail_flush: int | None = None
) -> tuple[Background, ScriptedCapture, RecordingSink, threading.Event]:
    """A run of six changes in batches of two whose first flush waits for the returned gate."""
    capture = ScriptedCapture(journal, changes(1, 2, 3, 4, 5, 6))
    gate = threading.Event()
    sink = RecordingSink(journal, flush_gate=gate, fail_flush=fail_flush)
    engine = Engine(capture, InMemoryBuilder(journal), sink, batch=batch, skip_backfill=True)
    run = Background(engine.run)
    assert sink.in_flush.wait(5)
    return run, capture, sink, gate


def test_builds_the_next_batch_while_the_previous_one_flushes() -> None:
    journal = Journal()
    run, capture, _, gate = held_run(journal, PAIRS)

    assert eventually(lambda: "build users 3,4" in journal)
    assert capture.confirmed == []
    gate.set()
    run.join()

    assert run.error is None


def test_builds_no_further_ahead_than_the_policy_allows() -> None:
    journal = Journal()
    run, _, _, gate = held_run(journal, PAIRS)

    assert eventually(lambda: "build users 3,4" in journal)
    assert not eventually(lambda: "build users 5,6" in journal, timeout=0.3)
    gate.set()
    run.join()


def test_waits_for_each_flush_before_building_the_next_batch_when_ahead_is_zero() -> None:
    journal = Journal()
    run, _, _, gate = held_run(journal, BatchPolicy(max_changes=2, max_delay=10.0, ahead=0, idle_delay=None))

    assert not eventually(lambda: "build users 3,4" in journal, timeout=0.3)
    gate.set()
    run.join()

    assert run.error is None


def test_confirms_batches_in_their_order() -> None:
    journal = Journal()
    run, _, _, gate = held_run(journal, PAIRS)
    gate.set()
    run.join()

    assert [e for e in journal if e.startswith("confirm")] == ["confirm 0,1", "confirm 2,3", "confirm 4,5"]


def test_a_failed_flush_confirms_no_batch_built_after_it() -> None:
    journal = Journal()
    run, capture, sink, gate = held_run(journal, PAIRS, fail_flush=1)

    assert eventually(lambda: "build users 3,4" in journal)
    gate.set()
    run.join()

    assert isinstance(run.error, FlushError)
    assert capture.confirmed == []
    assert sink.flushes == [False]


def test_a_failed_flush_ends_the_run_while_the_stream_is_idle() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2), hold_open=True)
    sink = RecordingSink(journal, fail_flush=1)
    engine = Engine(capture, InMemoryBuilder(journal), sink, batch=PAIRS, skip_backfill=True)

    run = Background(engine.run)
    run.join()

    assert isinstance(run.error, FlushError)
    assert capture.confirmed == []


def completing_run(journal: Journal, fail_flush: int | None = None) -> tuple[Background, ScriptedCapture, threading.Event]:
    """A run of six changes in batches of two whose flushes stay under way until the returned
    gate is set."""
    capture = ScriptedCapture(journal, changes(1, 2, 3, 4, 5, 6))
    gate = threading.Event()
    sink = RecordingSink(journal, completion_gate=gate, fail_flush=fail_flush)
    run = Background(Engine(capture, InMemoryBuilder(journal), sink, batch=PAIRS, skip_backfill=True).run)
    return run, capture, gate


def test_writes_the_next_batch_while_the_previous_flush_completes() -> None:
    journal = Journal()
    run, _, gate = completing_run(journal)
    assert eventually(lambda: "write users 3" in journal)
    gate.set()
    run.join()

    assert journal.index("write users 3") < journal.index("confirm 0,1")


def test_confirms_each_batch_once_its_flush_completed_in_batch_order() -> None:
    journal = Journal()
    run, capture, gate = completing_run(journal)

    assert eventually(lambda: "write users 3" in journal)
    assert not eventually(lambda: capture.confirmed != [], timeout=0.2)
    gate.set()
    run.join()

    assert [e for e in journal if e.startswith("confirm")] == ["confirm 0,1", "confirm 2,3", "confirm 4,5"]


def test_a_flush_that_fails_to_complete_confirms_no_batch_written_after_it() -> None:
    journal = Journal()
    run, capture, gate = completing_run(journal, fail_flush=1)

    assert eventually(lambda: "write users 3" in journal)
    gate.set()
    run.join()

    assert isinstance(run.error, FlushError)
    assert capture.confirmed == []
