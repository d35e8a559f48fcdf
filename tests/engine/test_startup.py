"""Start of a run: mapping first, then a backfill of exactly what the sink reports unseeded."""

from __future__ import annotations

from flusso_engine.engine import Engine
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import (
    USERS,
    InMemoryBuilder,
    Journal,
    RecordingObserver,
    RecordingSink,
    ScriptedCapture,
    changes,
    index,
    snapshot_rows,
)


def test_ensures_every_mapping_before_any_write() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(1), snapshot={USERS: snapshot_rows(2)})
    builder = InMemoryBuilder(journal, [index("users"), index("people")])

    Engine(capture, builder, RecordingSink(journal)).run()

    ensures = [i for i, entry in enumerate(journal) if entry.startswith("ensure")]
    writes = [i for i, entry in enumerate(journal) if entry.startswith("write")]
    assert len(ensures) == 2 and writes
    assert max(ensures) < min(writes)


def test_seeds_an_unseeded_index_then_marks_it() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, snapshot={USERS: snapshot_rows(1, 3)})
    sink = RecordingSink(journal)

    Engine(capture, InMemoryBuilder(journal), sink).run()

    assert capture.snapshot_calls == [[USERS]]
    assert journal.entries("write") == ["write users 1", "write users 3"]
    assert journal.entries("mark_seeded") == ["mark_seeded users"]
    last_flush = len(journal) - 1 - journal[::-1].index("flush")
    assert journal.index("mark_seeded users") > last_flush


def test_skips_backfill_when_the_sink_reports_seeded() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, snapshot={USERS: snapshot_rows(1)})

    Engine(capture, InMemoryBuilder(journal), RecordingSink(journal, seeded={"users"})).run()

    assert capture.snapshot_calls == []
    assert journal.entries("write") == [] and journal.entries("mark_seeded") == []


def test_skip_backfill_overrides_an_unseeded_index() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, snapshot={USERS: snapshot_rows(1)})

    Engine(capture, InMemoryBuilder(journal), RecordingSink(journal), skip_backfill=True).run()

    assert capture.snapshot_calls == []
    assert journal.entries("write") == [] and journal.entries("mark_seeded") == []


def test_backfill_writes_only_to_the_indexes_being_seeded() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, snapshot={USERS: snapshot_rows(1, 2)})
    builder = InMemoryBuilder(journal, [index("users"), index("people")])

    Engine(capture, builder, RecordingSink(journal, seeded={"users"})).run()

    assert capture.snapshot_calls == [[USERS]]
    assert journal.entries("write") == ["write people 1", "write people 2"]
    assert journal.entries("mark_seeded") == ["mark_seeded people"]


def test_a_backfill_builds_each_page_by_its_key_range_without_resolving_it() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, snapshot={USERS: snapshot_rows(1, 2)})
    resolved: list[None] = []
    builder = InMemoryBuilder(journal, on_resolve=lambda: resolved.append(None))

    Engine(capture, builder, RecordingSink(journal)).run(live=False)

    assert builder.pages == [("users", None, ("1",)), ("users", ("1",), ("2",))]
    assert resolved == []


def test_snapshots_a_root_table_shared_by_unseeded_indexes_once() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, snapshot={USERS: snapshot_rows(1)})
    builder = InMemoryBuilder(journal, [index("users"), index("people")])

    Engine(capture, builder, RecordingSink(journal)).run()

    assert capture.snapshot_calls == [[USERS]]
    assert sorted(journal.entries("write")) == ["write people 1", "write users 1"]


def test_backfill_is_caught_up_only_at_its_end_then_live_follows() -> None:
    journal = Journal()
    observer = RecordingObserver()
    capture = ScriptedCapture(journal, changes(9), snapshot={USERS: snapshot_rows(1, 2, 3)})
    sink = RecordingSink(journal)

    Engine(
        capture, InMemoryBuilder(journal), sink,
        batch=BatchPolicy(max_changes=1), backfill_batch=BatchPolicy(max_changes=1), observer=observer,
    ).run()

    assert sink.flushes == [False, False, True, True]  # three backfill batches, then live
    assert observer.named("backfill_started") == [(["users"],)]
    assert observer.named("backfill_progress")[-1] == ({"users": 3},)
    names = [name for name, _ in observer.events]
    assert names.index("index_seeded") < names.index("live_started")


def test_a_backfill_takes_batches_of_its_own_size() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(9), snapshot={USERS: snapshot_rows(*range(1, 11))})
    sink = RecordingSink(journal)

    Engine(
        capture, InMemoryBuilder(journal), sink,
        batch=BatchPolicy(max_changes=1), backfill_batch=BatchPolicy(max_changes=5, max_delay=10.0, idle_delay=None),
    ).run()

    assert sink.flushes == [False, True, True]  # two backfill batches of five, then one live change


def test_a_seeding_run_ends_after_the_backfill_without_following_live() -> None:
    journal = Journal()
    capture = ScriptedCapture(journal, changes(9), snapshot={USERS: snapshot_rows(1)}, hold_open=True)

    Engine(capture, InMemoryBuilder(journal), RecordingSink(journal)).run(live=False)

    assert journal.entries("write") == ["write users 1"]
    assert journal.entries("mark_seeded") == ["mark_seeded users"]
    assert capture.pulled == 0
