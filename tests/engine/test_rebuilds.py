"""Large live rebuilds: built and flushed a chunk at a time, never holding up the changes behind them."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence

from flusso_engine.engine import Engine
from flusso_engine.model import Change, Document, Lsn, RowKey, TableRef
from flusso_engine.observer import NullObserver, Observer
from flusso_engine.rebuilds import REBUILD_BACKLOG, REBUILD_CHUNK
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import (
    USERS,
    Background,
    InMemoryBuilder,
    Journal,
    PausingCapture,
    RecordingSink,
    ScriptedCapture,
    change,
)
from tests.engine.waiting import eventually

#: A change that rebuilds this many documents, as a category renamed under its products does.
FAN_OUT = 4 * REBUILD_CHUNK
LIVE = BatchPolicy(max_changes=100, max_delay=10.0)
#: Two changes a batch, whatever the delay.
IN_PAIRS = BatchPolicy(max_changes=2, max_delay=10.0, idle_delay=None)
TAGS = TableRef("public", "tags")
#: One change a batch: each rename is a batch of its own, as renames a while apart are.
ONE_BY_ONE = BatchPolicy(max_changes=1, max_delay=10.0)


#: Documents a change keyed "<kind><n>" rebuilds, by kind: a rename, a change that rebuilds just
#: over half a chunk, and a rename under more documents than the backlog allows to wait.
SIZES = {"fan": FAN_OUT, "few": REBUILD_CHUNK // 2 + 1, "huge": REBUILD_BACKLOG + FAN_OUT}


def fan(n: int, seq: int) -> Change:
    """A change that rebuilds FAN_OUT documents of its own: the n-th of several renames."""
    return change(f"fan{n}", seq)


def few(n: int, seq: int, table: TableRef) -> Change:
    """A change that rebuilds just over half a chunk of documents of its own."""
    return change(f"few{n}", seq, table=table)


def fanned_keys(key: str) -> list[RowKey]:
    """The documents a change keyed `key` rebuilds, none of them another's."""
    kind = key.rstrip("0123456789")
    n = int(key[len(kind):] or 0)
    start = 1_000_000 * (list(SIZES).index(kind) + 1) + 100_000 * n
    return [(str(start + i),) for i in range(SIZES[kind])]


class FanOutBuilder(InMemoryBuilder):
    """Resolves a change keyed after a kind of SIZES to that many documents; every build call
    waits for `release` once `building` is set by the first, so a test can hold the first chunk."""

    def __init__(self, journal: Journal) -> None:
        super().__init__(journal)
        self.building = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def resolve(self, changes: Sequence[Change]) -> dict[str, set[RowKey]]:
        fans = [c for c in changes if c.key[0].startswith(tuple(SIZES))]
        targets = super().resolve([c for c in changes if c not in fans])
        for c in fans:
            self.journal.append(f"resolve {c.key[0]}")
            targets.setdefault("users", set()).update(fanned_keys(c.key[0]))
        return targets

    def build(self, index: str, keys: Collection[RowKey], version: Lsn) -> list[Document]:
        self.building.set()
        self.release.wait(5)
        return super().build(index, keys, version)


class PendingReports(NullObserver):
    """Every report of the documents left to rebuild, in order."""

    def __init__(self) -> None:
        self.reports: list[dict[str, int]] = []

    def rebuilds_pending(self, documents: Mapping[str, int]) -> None:
        self.reports.append(dict(documents))


def run_until_confirmed(
    script: list[Change], policy: BatchPolicy, observer: Observer | None = None
) -> tuple[Journal, FanOutBuilder]:
    """Run `script` with every change already queued before the first chunk is built, until all
    are confirmed; the journal and builder tell what happened in which order."""
    journal = Journal()
    builder = FanOutBuilder(journal)
    builder.release.clear()
    capture = ScriptedCapture(journal, script, hold_open=True)
    engine = Engine(capture, builder, RecordingSink(journal), batch=policy, skip_backfill=True, observer=observer)

    run = Background(engine.run)
    assert eventually(capture.exhausted.is_set)
    builder.release.set()
    assert eventually(lambda: capture.confirmed_seqs == sorted(c.ack.seq for c in script))
    engine.stop()
    run.join()
    return journal, builder


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


def test_a_run_stopped_during_a_large_rebuild_leaves_its_change_unconfirmed() -> None:
    journal = Journal()
    builder = FanOutBuilder(journal)
    builder.release.clear()
    capture = PausingCapture(journal, builder.building, [fan(0, 0), change(1, 1)])
    engine = Engine(capture, builder, RecordingSink(journal), batch=LIVE, skip_backfill=True)

    run = Background(engine.run)
    assert eventually(capture.exhausted.is_set)
    engine.stop()
    builder.release.set()
    run.join()

    assert capture.confirmed_seqs == []
    assert len(journal.entries("build")) == 1  # the chunk under way, and nothing after the stop


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


def test_without_a_batch_ahead_each_chunk_is_flushed_before_the_next_is_built() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, [change("fan", 0)], hold_open=True)
    policy = BatchPolicy(max_changes=100, max_delay=10.0, ahead=0)
    engine = Engine(capture, FanOutBuilder(journal), RecordingSink(journal), batch=policy, skip_backfill=True)

    run = Background(engine.run)
    assert eventually(lambda: capture.confirmed_seqs == [0])
    engine.stop()
    run.join()

    steps = [entry.split()[0] for entry in journal if entry.startswith(("build", "flush"))]
    assert steps == ["build", "flush"] * (FAN_OUT // REBUILD_CHUNK)


def test_a_rename_arriving_during_a_large_rebuild_is_rebuilt_a_chunk_at_a_time_too() -> None:
    journal, builder = run_until_confirmed([fan(0, 0), fan(1, 1), change(1, 2)], ONE_BY_ONE)

    assert max(len(keys) for _, keys, _ in builder.builds) <= REBUILD_CHUNK
    assert len(builder.builds) == 2 * FAN_OUT // REBUILD_CHUNK + 1


def test_a_change_behind_two_renames_is_confirmed_before_either_rebuild_ends() -> None:
    journal, _ = run_until_confirmed([fan(0, 0), fan(1, 1), change(1, 2)], ONE_BY_ONE)

    assert journal.index("confirm 2") < journal.index("confirm 0") < journal.index("confirm 1")


def test_a_change_taken_together_with_a_rename_of_another_table_waits_for_no_rebuild() -> None:
    journal, _ = run_until_confirmed([change("fan", 0, table=TAGS), change(1, 1)], IN_PAIRS)

    assert journal.index("confirm 1") < journal.index("confirm 0")


def test_a_batch_whose_tables_rebuild_more_than_a_chunk_only_together_is_sealed_whole_at_once() -> None:
    journal, _ = run_until_confirmed([few(0, 0, TAGS), few(1, 1, USERS)], IN_PAIRS)

    assert journal.entries("confirm") == ["confirm 0,1"]


def test_a_rename_repeated_during_its_rebuild_rebuilds_only_the_documents_already_rebuilt() -> None:
    journal, builder = run_until_confirmed([fan(0, 0), fan(0, 1)], ONE_BY_ONE)

    assert sum(len(keys) for _, keys, _ in builder.builds) == FAN_OUT + REBUILD_CHUNK
    assert journal.index("confirm 0") < journal.index("confirm 1")


def test_no_change_is_taken_while_the_rebuilds_behind_the_one_under_way_have_more_than_the_backlog() -> None:
    # Each turn takes one rename and builds one chunk: the backlog grows by the difference, to
    # more than REBUILD_BACKLOG + 2 * FAN_OUT if nothing held it back.
    renames = [fan(n, n) for n in range(REBUILD_BACKLOG // (FAN_OUT - REBUILD_CHUNK) + 4)]
    journal, _ = run_until_confirmed(renames, ONE_BY_ONE)

    waiting = most = 0
    for entry in journal:
        if entry.startswith("resolve fan"):
            waiting += FAN_OUT
        elif entry.startswith("build"):
            waiting -= entry.count(",") + 1
        most = max(most, waiting)
    assert REBUILD_BACKLOG < most <= REBUILD_BACKLOG + 2 * FAN_OUT


def test_a_rename_under_more_documents_than_the_backlog_still_lets_the_next_change_through() -> None:
    _, builder = run_until_confirmed([change("huge", 0), change(1, 1)], ONE_BY_ONE)

    assert builder.builds[1][1] == {("1",)}  # built in the turn after the first chunk


def test_the_documents_left_to_rebuild_are_reported_after_each_chunk_until_none_is_left() -> None:
    observer = PendingReports()
    run_until_confirmed([fan(0, 0)], ONE_BY_ONE, observer)

    chunks = FAN_OUT // REBUILD_CHUNK
    assert observer.reports == [{"users": FAN_OUT - n * REBUILD_CHUNK} for n in range(1, chunks)] + [{}]


def test_the_documents_left_to_rebuild_count_each_merged_rename_once() -> None:
    observer = PendingReports()
    run_until_confirmed([fan(0, 0), fan(0, 1)], ONE_BY_ONE, observer)

    # The repeat, taken after the first chunk, adds only that chunk's documents: one chunk later
    # as many are left as after the first, never the sum of both renames.
    assert max(report.get("users", 0) for report in observer.reports) == FAN_OUT - REBUILD_CHUNK
    assert observer.reports[-1] == {}
