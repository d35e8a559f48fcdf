"""Fan-out: every sink gets every call; only persistent sinks decide what is seeded."""

from __future__ import annotations

import io
import threading

import pytest

from flusso_engine.errors import FlushError
from flusso_engine.model import DocId, Document
from flusso_engine.sinks.fanout import FanOutSink
from flusso_engine.sinks.stdout import StdoutSink

from tests.engine.fakes import Journal, RecordingSink, index


def doc(key: str) -> Document:
    return Document(DocId("users", (key,)), b"{}")


def test_a_non_persistent_sink_never_forces_reseeding() -> None:
    fanout = FanOutSink([RecordingSink(Journal(), seeded={"users"}), StdoutSink(io.BytesIO())])

    assert fanout.is_seeded("users") is True
    assert fanout.persistent is True


def test_is_seeded_only_when_every_persistent_sink_is() -> None:
    fanout = FanOutSink([RecordingSink(Journal(), seeded={"users"}), RecordingSink(Journal())])

    assert fanout.is_seeded("users") is False


def test_without_persistent_sinks_the_sinks_own_answers_decide() -> None:
    unseeded = FanOutSink([StdoutSink(io.BytesIO()), StdoutSink(io.BytesIO(), seeded=True)])
    seeded = FanOutSink([StdoutSink(io.BytesIO(), seeded=True)])

    assert unseeded.is_seeded("users") is False
    assert seeded.is_seeded("users") is True
    assert seeded.persistent is False


def test_forwards_ensure_mark_seeded_and_reindex_to_every_sink() -> None:
    first, second = RecordingSink(Journal()), RecordingSink(Journal())
    fanout = FanOutSink([first, second])

    fanout.ensure_index(index("users"))
    fanout.mark_seeded("users")
    assert first.is_seeded("users") and second.is_seeded("users")
    fanout.reindex("users")

    assert first.journal == second.journal == ["ensure users", "mark_seeded users", "reindex users"]
    assert not first.is_seeded("users") and not second.is_seeded("users")


def test_writes_every_document_to_every_sink_even_from_a_generator() -> None:
    first, second = RecordingSink(Journal()), RecordingSink(Journal())
    fanout = FanOutSink([first, second])

    fanout.write(doc(key) for key in ("1", "2"))
    fanout.flush(caught_up=True).result()

    assert sorted(d.text for d in first.store) == sorted(d.text for d in second.store) == ["1", "2"]


def test_flush_merges_the_reports_of_all_sinks() -> None:
    fanout = FanOutSink([RecordingSink(Journal(), reject={"1"}), RecordingSink(Journal(), reject={"2"})])

    fanout.write([doc("1"), doc("2")])
    report = fanout.flush(caught_up=False).result()

    assert report.written == 2
    assert sorted(r.id.text for r in report.rejected) == ["1", "2"]


def test_flush_fails_when_any_sink_fails() -> None:
    fanout = FanOutSink([RecordingSink(Journal()), RecordingSink(Journal(), fail_flush=1)])
    fanout.write([doc("1")])

    with pytest.raises(FlushError):
        fanout.flush(caught_up=False).result()


def test_a_failed_flush_still_waits_for_every_other_sinks_flush() -> None:
    completed = threading.Event()
    completed.set()
    failing = RecordingSink(Journal(), fail_flush=1, completion_gate=completed)
    other = RecordingSink(Journal(), completion_gate=completed)
    fanout = FanOutSink([failing, other])
    fanout.write([doc("1")])

    with pytest.raises(FlushError):
        fanout.flush(caught_up=False).result()
    assert [d.text for d in other.store] == ["1"]


def test_a_flush_is_done_only_once_every_sinks_flush_is() -> None:
    held = threading.Event()
    fanout = FanOutSink([RecordingSink(Journal()), RecordingSink(Journal(), completion_gate=held)])
    fanout.write([doc("1")])

    flush = fanout.flush(caught_up=False)
    assert not flush.done()
    held.set()
    assert flush.done()


def test_a_flush_calls_back_once_when_the_last_sinks_flush_ends() -> None:
    held, ended = threading.Event(), threading.Semaphore(0)
    fanout = FanOutSink([RecordingSink(Journal()), RecordingSink(Journal(), completion_gate=held)])
    fanout.write([doc("1")])

    fanout.flush(caught_up=False).add_done_callback(ended.release)
    assert not ended.acquire(timeout=0.1)
    held.set()
    assert ended.acquire(timeout=5)
    assert not ended.acquire(timeout=0.1)  # once only
