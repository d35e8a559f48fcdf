"""Where the slot stands: it moves only past confirmed work, and past traffic we do not follow."""

from __future__ import annotations

import psycopg
import pytest

from flusso_engine.capture.slot import parse_lsn
from flusso_engine.errors import CaptureError
from flusso_engine.model import Op, TableRef
from tests.capture.support import SLOT, confirmed_flush, wait_for

ITEMS = TableRef("public", "items")


def _three_transactions(db: psycopg.Connection) -> None:
    for value in (1, 2, 3):
        db.execute("INSERT INTO items VALUES (%s)", (value,))


def test_confirm_advances_the_slot_only_to_the_contiguous_confirmed_commit(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    follower = follow(ITEMS)
    _three_transactions(db)
    first, second, third = follower.take(3)

    follower.capture.confirm([first.ack, third.ack])
    wait_for(lambda: confirmed_flush(db) >= first.ack.lsn, what="the first commit confirmed")
    follower.quiet(1.0)
    assert confirmed_flush(db) < second.ack.lsn

    follower.capture.confirm([second.ack])
    wait_for(lambda: confirmed_flush(db) >= third.ack.lsn, what="all three commits confirmed")
    follower.finish()


def test_half_confirmed_transaction_does_not_move_the_slot_past_it(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    follower = follow(ITEMS)
    start = confirmed_flush(db)
    db.execute("INSERT INTO items VALUES (1), (2)")
    first, _second = follower.take(2)

    follower.capture.confirm([first.ack])
    follower.quiet(1.0)

    assert confirmed_flush(db) < first.ack.lsn
    assert confirmed_flush(db) >= start
    follower.finish()


def test_unconfirmed_changes_are_redelivered_after_restart(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    follower = follow(ITEMS)
    _three_transactions(db)
    first, _, _ = follower.take(3)
    follower.capture.confirm([first.ack])
    follower.finish()

    again = follow(ITEMS)
    redelivered = again.take(2)

    assert [c.key for c in redelivered] == [("2",), ("3",)]
    assert again.quiet(0.5) == []
    again.finish()


def test_slot_advances_while_only_unrelated_tables_change(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("CREATE TABLE noise (id serial PRIMARY KEY, payload text)")
    db.execute("CREATE PUBLICATION flusso_test FOR TABLE items, noise")
    follower = follow(ITEMS)
    db.execute("INSERT INTO items VALUES (1)")
    (change,) = follower.take(1)
    follower.capture.confirm([change.ack])
    for _ in range(20):
        db.execute("INSERT INTO noise (payload) SELECT repeat('x', 1000) FROM generate_series(1, 50)")
    (current,) = db.execute("SELECT pg_current_wal_lsn()::text").fetchone()  # type: ignore[misc]

    wait_for(lambda: confirmed_flush(db) >= parse_lsn(current), what="the slot to pass the unrelated traffic")
    assert follower.quiet(0.2) == []
    follower.finish()


def test_reconnects_after_the_server_ends_the_session(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    follower = follow(ITEMS)
    db.execute("INSERT INTO items VALUES (1)")
    (before,) = follower.take(1)
    follower.capture.confirm([before.ack])
    wait_for(lambda: confirmed_flush(db) >= before.ack.lsn, what="the confirm")

    # The walsender (or the polling session's backend) of this database, and only it.
    db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    db.execute("INSERT INTO items VALUES (2)")

    (after,) = follower.take(1, timeout=30)
    assert (after.op, after.key) == (Op.INSERT, ("2",))
    follower.finish()


def _drop_slot_under_the_capture(db: psycopg.Connection) -> bool:
    db.execute(
        "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
        " WHERE slot_name = %s AND active_pid IS NOT NULL", (SLOT,)
    )
    try:
        db.execute("SELECT pg_drop_replication_slot(%s)", (SLOT,))
    except psycopg.errors.ObjectInUse:
        return False
    return True


def test_a_dropped_slot_stops_live_with_a_capture_error(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    follower = follow(ITEMS)
    follower.quiet(0.3)

    wait_for(lambda: _drop_slot_under_the_capture(db), what="the slot to be dropped")

    wait_for(lambda: follower.error is not None, timeout=30, what="live() to fail")
    with pytest.raises(CaptureError, match="flusso_test"):
        follower.finish()
