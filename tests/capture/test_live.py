"""Live capture on both transports: what the stream says about each kind of row change."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from flusso_engine.model import Op, TableRef

from tests.capture.support import Follower

ITEMS = TableRef("public", "items")

KEY_TYPES = {
    "int": ("int", "42"),
    "bigint": ("bigint", "9007199254740993"),
    "uuid": ("uuid", "'6f1c1d2e-8a4b-4c3d-9e2f-0a1b2c3d4e5f'"),
    "text": ("text", "'héllo wörld: a/b'"),
    "date": ("date", "'2024-02-29'"),
    "timestamp": ("timestamp", "'2024-02-29 13:14:15.123456'"),
    "bytea": ("bytea", "'\\x00ff10'::bytea"),
    "numeric": ("numeric", "12345.67890"),
}


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_key_from_the_wal_equals_the_key_read_back_as_text(
    db: psycopg.Connection, follow, key_type: str
) -> None:
    column_type, literal = (sql.SQL(part) for part in KEY_TYPES[key_type])
    db.execute(sql.SQL("CREATE TABLE items (id {} PRIMARY KEY, label text)").format(column_type))
    follower: Follower = follow(ITEMS)
    db.execute(sql.SQL("INSERT INTO items VALUES ({}, 'a')").format(literal))
    (expected,) = db.execute("SELECT id::text FROM items").fetchone()  # type: ignore[misc]
    db.execute("UPDATE items SET label = 'b'")
    db.execute("DELETE FROM items")

    changes = follower.take(3)

    assert [(c.op, c.key) for c in changes] == [
        (Op.INSERT, (expected,)),
        (Op.UPDATE, (expected,)),
        (Op.DELETE, (expected,)),
    ]
    follower.finish()


def test_composite_key_is_in_primary_key_column_order(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (b text, a int, label text, PRIMARY KEY (a, b))")
    follower = follow(ITEMS)
    db.execute("INSERT INTO items VALUES ('x', 7, 'l')")
    expected = db.execute("SELECT a::text, b::text FROM items").fetchone()

    (change,) = follower.take(1)

    assert change.key == expected == ("7", "x")
    follower.finish()


def test_update_of_a_non_key_column_keeps_the_key_and_sets_no_old_key(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    db.execute("INSERT INTO items VALUES (1, 'a')")
    follower = follow(ITEMS)
    db.execute("UPDATE items SET label = 'b' WHERE id = 1")

    (change,) = follower.take(1)

    assert (change.op, change.key, change.old_key) == (Op.UPDATE, ("1",), None)
    follower.finish()


def test_primary_key_change_sets_old_key(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    db.execute("INSERT INTO items VALUES (1, 'a')")
    follower = follow(ITEMS)
    db.execute("UPDATE items SET id = 2 WHERE id = 1")

    (change,) = follower.take(1)

    assert (change.op, change.key, change.old_key) == (Op.UPDATE, ("2",), ("1",))
    follower.finish()


def test_key_ignores_replica_identity_full(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    db.execute("ALTER TABLE items REPLICA IDENTITY FULL")
    db.execute("INSERT INTO items VALUES (1, 'a')")
    follower = follow(ITEMS)
    db.execute("UPDATE items SET label = 'b'")

    (change,) = follower.take(1)

    assert (change.key, change.old_key) == (("1",), None)
    assert change.old_values == {"id": "1", "label": "a"}
    follower.finish()


def test_child_delete_with_replica_identity_full_carries_old_foreign_key(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE parents (id int PRIMARY KEY)")
    db.execute("CREATE TABLE children (id int PRIMARY KEY, parent_id int REFERENCES parents, note text)")
    db.execute("ALTER TABLE children REPLICA IDENTITY FULL")
    db.execute("INSERT INTO parents VALUES (10), (11)")
    db.execute("INSERT INTO children VALUES (1, 10, NULL)")
    follower = follow(TableRef("public", "children"))
    db.execute("UPDATE children SET parent_id = 11")
    db.execute("DELETE FROM children")

    moved, deleted = follower.take(2)

    assert (moved.op, moved.key, moved.old_values) == (Op.UPDATE, ("1",), {"id": "1", "parent_id": "10", "note": None})
    assert (deleted.op, deleted.key, deleted.old_values) == (Op.DELETE, ("1",), {"id": "1", "parent_id": "11", "note": None})
    follower.finish()


def test_delete_with_default_identity_carries_only_the_key_columns(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY, label text)")
    db.execute("INSERT INTO items VALUES (1, 'a')")
    follower = follow(ITEMS)
    db.execute("DELETE FROM items")

    (change,) = follower.take(1)

    assert change.old_values == {"id": "1"}
    follower.finish()


def test_truncate_gives_one_change_per_followed_table(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("CREATE TABLE others (id int PRIMARY KEY)")
    db.execute("CREATE TABLE ignored (id int PRIMARY KEY)")
    db.execute("INSERT INTO items VALUES (1); INSERT INTO others VALUES (1); INSERT INTO ignored VALUES (1)")
    follower = follow(ITEMS, TableRef("public", "others"))
    db.execute("TRUNCATE items, others, ignored")

    changes = follower.take(2)

    assert sorted((c.op, str(c.table), c.key) for c in changes) == [
        (Op.TRUNCATE, "public.items", ()),
        (Op.TRUNCATE, "public.others", ()),
    ]
    follower.finish()


def test_changes_carry_commit_lsn_and_time(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    follower = follow(ITEMS)
    with db.transaction():
        db.execute("INSERT INTO items VALUES (1), (2)")
    (now,) = db.execute("SELECT extract(epoch FROM now())::float8").fetchone()  # type: ignore[misc]

    first, second = follower.take(2)

    assert first.ack.lsn == second.ack.lsn > 0
    assert second.ack.seq == first.ack.seq + 1
    assert first.commit_time is not None and abs(first.commit_time - now) < 30
    follower.finish()


def test_tables_outside_the_set_are_not_reported(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute('CREATE TABLE "Odd Name" (x int)')  # no key, odd name: must not matter
    db.execute("CREATE PUBLICATION flusso_test FOR ALL TABLES")
    follower = follow(ITEMS)
    db.execute('INSERT INTO "Odd Name" VALUES (1)')
    db.execute("INSERT INTO items VALUES (1)")

    (change,) = follower.take(1)

    assert change.table == ITEMS
    follower.finish()


def test_stop_ends_live_promptly_while_idle(db: psycopg.Connection, follow) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    follower = follow(ITEMS)
    follower.quiet(0.3)

    follower.finish()  # asserts live() returned
