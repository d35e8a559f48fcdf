"""A backfill that did not finish resumes after its last flushed key instead of starting over."""

from __future__ import annotations

import pytest

from flusso_engine.engine import Engine
from flusso_engine.errors import FlushError
from flusso_engine.model import DocId, TableRef
from flusso_engine.policy import BatchPolicy

from tests.engine.fakes import (
    USERS,
    InMemoryBuilder,
    Journal,
    RecordingSink,
    ScriptedCapture,
    index,
    snapshot_rows,
)

ORDERS = TableRef("public", "orders")
THREES = BatchPolicy(max_changes=3, max_delay=10.0, idle_delay=None)
ROWS = {USERS: snapshot_rows(*range(1, 11)), ORDERS: snapshot_rows(*range(1, 6), table=ORDERS)}


def backfill(sink: RecordingSink, *indexes: str, roots: dict[str, TableRef] | None = None) -> InMemoryBuilder:
    """One run that only backfills `indexes` into `sink`, three rows a batch; returns its builder."""
    roots = roots or {}
    journal = sink.journal
    builder = InMemoryBuilder(journal, [index(name, roots.get(name, USERS)) for name in indexes])
    Engine(ScriptedCapture(journal, snapshot=ROWS), builder, sink, backfill_batch=THREES).run(live=False)
    return builder


def crash_at_flush(number: int, *indexes: str, roots: dict[str, TableRef] | None = None) -> RecordingSink:
    """A sink after a backfill whose flush `number` failed: batches before it are durable."""
    sink = RecordingSink(Journal(), fail_flush=number)
    with pytest.raises(FlushError):
        backfill(sink, *indexes, roots=roots)
    sink.fail_flush = None
    return sink


def built(builder: InMemoryBuilder, name: str) -> list[int]:
    return sorted(int(key[0]) for index_name, keys, _ in builder.builds if index_name == name for key in keys)


def test_a_crashed_backfill_resumes_after_its_last_flushed_key() -> None:
    sink = crash_at_flush(3, "users")

    builder = backfill(sink, "users")

    assert built(builder, "users") == [7, 8, 9, 10]
    assert set(sink.store) == {DocId("users", (str(key),)) for key in range(1, 11)}
    assert sink.seeded == {"users"}


def test_a_checkpoint_is_saved_only_after_its_batch_is_flushed_and_confirmed() -> None:
    sink = RecordingSink(Journal())

    backfill(sink, "users")

    progress = [entry.split()[0] for entry in sink.journal if entry.split()[0] in ("flush", "confirm", "checkpoint")]
    assert progress == ["flush", "confirm", "checkpoint"] * 4


def test_a_failed_flush_saves_no_checkpoint_for_its_batch() -> None:
    sink = crash_at_flush(1, "users")

    assert sink.journal.entries("checkpoint") == []
    assert built(backfill(sink, "users"), "users") == list(range(1, 11))


def test_a_finished_backfill_leaves_no_checkpoint() -> None:
    sink = RecordingSink(Journal())

    backfill(sink, "users")

    assert sink.checkpoints == {}


def test_a_root_starts_over_when_its_indexes_disagree() -> None:
    sink = crash_at_flush(3, "users", "mirror")
    del sink.checkpoints["mirror"]  # its build was restarted meanwhile

    builder = backfill(sink, "users", "mirror")

    assert built(builder, "users") == built(builder, "mirror") == list(range(1, 11))


def test_indexes_of_one_root_resume_together_when_they_agree() -> None:
    sink = crash_at_flush(3, "users", "mirror")

    builder = backfill(sink, "users", "mirror")

    assert built(builder, "users") == built(builder, "mirror") == [7, 8, 9, 10]


def test_each_root_resumes_after_its_own_last_flushed_key() -> None:
    """Roots are read one after another: the batch of keys 10 of users and 1-2 of orders leaves
    users complete and orders part-way."""
    roots = {"orders": ORDERS}
    sink = crash_at_flush(5, "users", "orders", roots=roots)

    builder = backfill(sink, "users", "orders", roots=roots)

    assert built(builder, "users") == []
    assert built(builder, "orders") == [3, 4, 5]
    assert sink.seeded == {"users", "orders"}


def test_a_root_not_reached_before_the_crash_starts_from_its_first_key() -> None:
    roots = {"orders": ORDERS}
    sink = crash_at_flush(2, "users", "orders", roots=roots)

    builder = backfill(sink, "users", "orders", roots=roots)

    assert built(builder, "users") == [4, 5, 6, 7, 8, 9, 10]
    assert built(builder, "orders") == [1, 2, 3, 4, 5]


def test_a_stopped_backfill_resumes_where_it_stopped() -> None:
    journal = Journal()
    sink = RecordingSink(journal)
    first = InMemoryBuilder(journal)
    engine = Engine(ScriptedCapture(journal, snapshot=ROWS), first, sink, backfill_batch=THREES)
    first.on_page = lambda: engine.stop() if len(first.builds) == 4 else None  # in the second batch
    engine.run(live=False)
    assert sink.seeded == set()

    second = backfill(sink, "users")

    assert built(second, "users") != []
    assert sorted(built(first, "users") + built(second, "users")) == list(range(1, 11))
    assert sink.seeded == {"users"}
