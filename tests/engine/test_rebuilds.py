"""Large live rebuilds: built and flushed a chunk at a time, never holding up the changes behind them."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence

from flusso_engine.engine import Engine
from flusso_engine.model import Change, Document, Lsn, RowKey
from flusso_engine.pipeline import REBUILD_CHUNK
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import Background, InMemoryBuilder, Journal, PausingCapture, RecordingSink, ScriptedCapture, change
from tests.engine.waiting import eventually

#: A change that rebuilds this many documents, as a category renamed under its products does.
FAN_OUT = 4 * REBUILD_CHUNK
LIVE = BatchPolicy(max_changes=100, max_delay=10.0)


class FanOutBuilder(InMemoryBuilder):
    """Resolves the change keyed "fan" to FAN_OUT documents; every build call waits for `release`
    once `building` is set by the first, so a test can hold the first chunk."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal)
        self.building = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def resolve(self, changes: Sequence[Change]) -> dict[str, set[RowKey]]:
        targets = super().resolve([c for c in changes if c.key != ("fan",)])
        if any(c.key == ("fan",) for c in changes):
            targets.setdefault("users", set()).update((str(10_000 + i),) for i in range(FAN_OUT))
        return targets

    def build(self, index: str, keys: Collection[RowKey], version: Lsn) -> list[Document]:
        self.building.set()
        self.release.wait(5)
        return super().build(index, keys, version)


def test_a_change_behind_a_large_rebuild_is_confirmed_before_the_rebuild_ends() -> None:
    journal = Journal()
    builder = FanOutBuilder(journal)
    builder.release.clear()
    capture = PausingCapture(journal, builder.building, [change("fan", 0), change(1, 1)])
    engine = Engine(capture, builder, RecordingSink(journal), batch=LIVE, skip_backfill=True)

    run = Background(engine.run)
    assert eventually(capture.exhausted.is_set)  # the later change waits in the queue
    builder.release.set()
    assert eventually(lambda: capture.confirmed_seqs == [0, 1])
    engine.stop()
    run.join()

    assert journal.index("confirm 1") < journal.index("confirm 0")


def test_a_large_rebuild_is_confirmed_only_after_its_last_chunk_is_flushed() -> None:
    journal = Journal()
    builder = FanOutBuilder(journal)
    capture = ScriptedCapture(journal, [change("fan", 0)], hold_open=True)
    sink = RecordingSink(journal)
    engine = Engine(capture, builder, sink, batch=LIVE, skip_backfill=True)

    run = Background(engine.run)
    assert eventually(lambda: capture.confirmed_seqs == [0])
    engine.stop()
    run.join()

    confirmed = journal.index("confirm 0")
    last_write = max(i for i, entry in enumerate(journal) if entry.startswith("write"))
    assert last_write < journal.index("flush", last_write) < confirmed
    assert len(journal.entries("build")) == FAN_OUT // REBUILD_CHUNK
    assert len(sink.store) == FAN_OUT


def test_a_large_rebuild_builds_no_chunk_while_two_wait_for_their_flush() -> None:
    journal = Journal()
    gate = threading.Event()
    capture = ScriptedCapture(journal, [change("fan", 0)], hold_open=True)
    engine = Engine(capture, FanOutBuilder(journal), RecordingSink(journal, flush_gate=gate), batch=LIVE, skip_backfill=True)

    run = Background(engine.run)
    assert eventually(lambda: len(journal.entries("build")) == 2)
    paced = not eventually(lambda: len(journal.entries("build")) > 2, timeout=0.3)
    gate.set()
    assert eventually(lambda: capture.confirmed_seqs == [0])
    engine.stop()
    run.join()

    assert paced


def test_without_a_batch_ahead_a_large_rebuild_is_built_whole() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, [change("fan", 0)], hold_open=True)
    policy = BatchPolicy(max_changes=100, max_delay=10.0, ahead=0)
    engine = Engine(capture, FanOutBuilder(journal), RecordingSink(journal), batch=policy, skip_backfill=True)

    run = Background(engine.run)
    assert eventually(lambda: capture.confirmed_seqs == [0])
    engine.stop()
    run.join()

    assert len(journal.entries("build")) == 1
