"""At-least-once delivery: acks follow flushes, failures confirm nothing, redelivery is harmless."""

from __future__ import annotations

import threading
import time

import pytest

from flusso_engine.engine import Engine
from flusso_engine.errors import CaptureError, FlushError
from flusso_engine.model import Ack, Change, DocId, Op
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import (
    USERS,
    InMemoryBuilder,
    Journal,
    RecordingObserver,
    RecordingSink,
    Background,
    ScriptedCapture,
    change,
    changes,
)
from tests.engine.waiting import eventually

LONG_DELAY = BatchPolicy(max_changes=256, max_delay=10.0, idle_delay=None)


def test_drives_changes_to_the_sink_and_confirms_each() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, [change(1, 0), change(2, 1, Op.DELETE)])
    builder = InMemoryBuilder(journal, rows={("2",): None})
    sink = RecordingSink(journal)

    Engine(capture, builder, sink, skip_backfill=True).run()

    assert journal.entries("write") + journal.entries("delete") == [
        "write users 1",
        "delete users 2",
    ]
    assert capture.confirmed_seqs == [0, 1]


def test_batches_changes_into_a_single_flush() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(10, 11, 12, 13, 14))
    sink = RecordingSink(journal)

    Engine(capture, InMemoryBuilder(journal), sink, batch=LONG_DELAY, skip_backfill=True).run()

    assert journal.entries("flush") == ["flush"]
    assert capture.confirmed_seqs == [0, 1, 2, 3, 4]


def test_confirms_no_ack_before_its_flush() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2, 3, 4))
    sink = RecordingSink(journal)

    Engine(
        capture,
        InMemoryBuilder(journal),
        sink,
        batch=BatchPolicy(max_changes=2, max_delay=10.0, idle_delay=None),
        skip_backfill=True,
    ).run()

    flushes_and_confirms = [e for e in journal if e == "flush" or e.startswith("confirm")]
    assert flushes_and_confirms == ["flush", "confirm 0,1", "flush", "confirm 2,3"]


def test_builds_a_repeatedly_touched_document_once_per_batch() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 1, 1))
    builder = InMemoryBuilder(journal)

    Engine(capture, builder, RecordingSink(journal), batch=LONG_DELAY, skip_backfill=True).run()

    assert journal.entries("build") == ["build users 1"]
    assert journal.entries("write") == ["write users 1"]
    assert capture.confirmed_seqs == [0, 1, 2]


def test_builds_every_document_at_the_highest_position_of_its_batch() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2, 3))
    builder = InMemoryBuilder(journal)

    Engine(capture, builder, RecordingSink(journal), batch=LONG_DELAY, skip_backfill=True).run()

    assert [version for _, _, version in builder.builds] == [102]


def test_flush_error_stops_the_run_with_nothing_confirmed() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2))
    sink = RecordingSink(journal, fail_flush=1)

    with pytest.raises(FlushError):
        Engine(capture, InMemoryBuilder(journal), sink, batch=LONG_DELAY, skip_backfill=True).run()

    assert capture.confirmed == []


def test_redelivers_and_reapplies_idempotently_after_a_crash_before_flush() -> None:
    store: dict[DocId, bytes] = {}
    first = Journal()
    crashed = ScriptedCapture(first, changes(1, 3))
    with pytest.raises(FlushError):
        Engine(
            crashed,
            InMemoryBuilder(first),
            RecordingSink(first, store=store, fail_flush=1),
            skip_backfill=True,
        ).run()
    assert store == {} and crashed.confirmed == []

    second = Journal()
    replayed = ScriptedCapture(second, changes(1, 3))
    Engine(replayed, InMemoryBuilder(second), RecordingSink(second, store=store), skip_backfill=True).run()

    assert sorted(doc.text for doc in store) == ["1", "3"]
    assert replayed.confirmed_seqs == [0, 1]


def test_a_capture_error_confirms_what_was_flushed_then_fails_the_run() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1, 2), fail_with=CaptureError("connection lost"))

    with pytest.raises(CaptureError, match="connection lost"):
        Engine(capture, InMemoryBuilder(journal), RecordingSink(journal), skip_backfill=True).run()

    assert capture.confirmed_seqs == [0, 1]


def test_closes_every_edge_when_the_run_fails() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1))
    builder = InMemoryBuilder(journal)
    sink = RecordingSink(journal, fail_flush=1)

    with pytest.raises(FlushError):
        Engine(capture, builder, sink, skip_backfill=True).run()

    assert capture.closed and builder.closed and sink.closed


def test_reports_each_flushed_batch_with_its_documents_per_index() -> None:
    journal = Journal()
    observer = RecordingObserver()
    capture = ScriptedCapture(journal, changes(1, 2, 2, 3, 4))

    Engine(
        capture,
        InMemoryBuilder(journal),
        RecordingSink(journal),
        batch=LONG_DELAY,
        observer=observer,
        skip_backfill=True,
    ).run()

    [(stats,)] = observer.named("batch_flushed")
    assert stats.changes == 5
    assert dict(stats.documents) == {"users": 4}
    assert [name for name, _ in observer.events] == [
        "started",
        "index_ensured",
        "live_started",
        "batch_flushed",
        "caught_up",
        "stopped",
    ]


def test_reports_the_error_that_stops_the_run() -> None:
    journal = Journal()
    observer = RecordingObserver()
    capture = ScriptedCapture(journal, changes(1))

    with pytest.raises(FlushError):
        Engine(
            capture,
            InMemoryBuilder(journal),
            RecordingSink(journal, fail_flush=1),
            observer=observer,
            skip_backfill=True,
        ).run()

    [(error,)] = observer.named("error")
    assert isinstance(error, FlushError)
    assert observer.events[-1] == ("stopped", ())


def test_a_truncate_of_a_root_table_empties_its_index_before_the_batch_is_written() -> None:
    journal = Journal()
    truncate = Change(Op.TRUNCATE, USERS, (), Ack(seq=0, lsn=100))
    capture = ScriptedCapture(journal, [truncate, change(7, 1, Op.INSERT)])
    sink = RecordingSink(journal, seeded={"users"})

    Engine(capture, InMemoryBuilder(journal), sink).run()

    assert journal.index("reindex users") < journal.index("mark_seeded users") < journal.index("write users 7")


def test_a_flush_under_way_is_waited_for_asleep_and_confirmed_once_it_ends() -> None:
    journal, gate = Journal(), threading.Event()
    capture = ScriptedCapture(journal, [change(1, 0)], hold_open=True)
    sink = RecordingSink(journal, completion_gate=gate)
    engine = Engine(capture, InMemoryBuilder(journal), sink, skip_backfill=True)

    run = Background(engine.run)
    assert eventually(lambda: len(sink.held) == 1)
    time.sleep(0.3)  # a poll every few milliseconds would ask about a hundred times meanwhile
    gate.set()
    assert eventually(lambda: capture.confirmed_seqs == [0])
    engine.stop()
    run.join()

    assert sink.held[0].done_asked <= 3
