"""The pgoutput decoder, on real WAL bytes from the server and on hand-built messages."""

from __future__ import annotations

import struct

import psycopg
import pytest

from flusso_engine.capture import pgoutput
from flusso_engine.capture.pgoutput import UNCHANGED, PgOutputError


def _peek(db: psycopg.Connection) -> list[bytes]:
    rows = db.execute(
        "SELECT data FROM pg_logical_slot_peek_binary_changes('decoder', NULL, NULL,"
        " 'proto_version', '1', 'publication_names', 'decoder')"
    ).fetchall()
    return [data for (data,) in rows]


@pytest.fixture
def wal(db: psycopg.Connection) -> list[object]:
    """Every kind of message from a real server, decoded."""
    db.execute("CREATE TABLE things (id int PRIMARY KEY, name text, big text)")
    db.execute("ALTER TABLE things ALTER big SET STORAGE EXTERNAL")
    db.execute("CREATE TABLE other (id int PRIMARY KEY)")
    db.execute("CREATE PUBLICATION decoder FOR TABLE things, other")
    db.execute("SELECT pg_create_logical_replication_slot('decoder', 'pgoutput')")
    db.execute("INSERT INTO things VALUES (1, 'ä', repeat('x', 10000))")
    db.execute("UPDATE things SET name = NULL")  # big stays TOASTed: sent as unchanged
    db.execute("UPDATE things SET id = 2")
    db.execute("DELETE FROM things")
    db.execute("TRUNCATE things, other")
    return [pgoutput.decode(data) for data in _peek(db)]


def test_real_messages_decode_in_stream_order(wal: list[object]) -> None:
    kinds = [type(m).__name__ for m in wal]

    # Relations are (re)sent before first use in a session and after invalidation (TRUNCATE).
    assert kinds == [
        "Begin", "Relation", "Insert", "Commit",
        "Begin", "Update", "Commit",
        "Begin", "Update", "Commit",
        "Begin", "Delete", "Commit",
        "Begin", "Relation", "Relation", "Truncate", "Commit",
    ]


def test_real_relation_names_schema_columns_and_identity(wal: list[object]) -> None:
    relation = next(m for m in wal if isinstance(m, pgoutput.Relation))

    assert (relation.namespace, relation.name, relation.replica_identity) == ("public", "things", "d")
    assert [(c.name, c.in_replica_identity) for c in relation.columns] == [("id", True), ("name", False), ("big", False)]


def test_real_tuples_are_text_null_and_unchanged_toast(wal: list[object]) -> None:
    insert = next(m for m in wal if isinstance(m, pgoutput.Insert))
    first_update, key_update = [m for m in wal if isinstance(m, pgoutput.Update)]

    assert insert.new == ("1", "ä", "x" * 10000)
    assert first_update.new == ("1", None, UNCHANGED) and first_update.old is None
    assert key_update.old_kind == "K" and key_update.old == ("1", None, None)


def test_real_truncate_lists_every_relation(wal: list[object]) -> None:
    relations = {m.oid for m in wal if isinstance(m, pgoutput.Relation)}
    truncate = next(m for m in wal if isinstance(m, pgoutput.Truncate))

    assert len(truncate.relation_oids) == 2 and set(truncate.relation_oids) <= relations


def test_real_commit_carries_end_lsn_and_time(wal: list[object]) -> None:
    begin = next(m for m in wal if isinstance(m, pgoutput.Begin))
    commit = next(m for m in wal if isinstance(m, pgoutput.Commit))

    assert commit.end_lsn > commit.commit_lsn == begin.final_lsn
    assert commit.commit_time == begin.commit_time
    assert pgoutput.pg_time_to_epoch(commit.commit_time) > 1_600_000_000


def _tuple(*values: bytes | None) -> bytes:
    parts = [struct.pack("!h", len(values))]
    for value in values:
        parts.append(b"n" if value is None else b"t" + struct.pack("!i", len(value)) + value)
    return b"".join(parts)


def test_truncate_relation_count_is_int32() -> None:
    message = b"T" + struct.pack("!iB", 3, 1) + struct.pack("!III", 10, 20, 30)

    decoded = pgoutput.decode(message)

    assert decoded == pgoutput.Truncate(1, (10, 20, 30)) and decoded.cascade


def test_update_with_full_old_tuple() -> None:
    message = b"U" + struct.pack("!I", 7) + b"O" + _tuple(b"1", b"old") + b"N" + _tuple(b"1", b"new")

    assert pgoutput.decode(message) == pgoutput.Update(7, "O", ("1", "old"), ("1", "new"))


def test_new_columns_keeps_only_the_leading_columns_of_a_new_tuple() -> None:
    insert = b"I" + struct.pack("!I", 7) + b"N" + _tuple(b"1", b"name", b"more")
    update = b"U" + struct.pack("!I", 7) + b"O" + _tuple(b"1", b"old") + b"N" + _tuple(b"1", b"new")

    assert pgoutput.decode(insert, new_columns=1) == pgoutput.Insert(7, ("1",))
    assert pgoutput.decode(update, new_columns=1) == pgoutput.Update(7, "O", ("1", "old"), ("1",))


def test_columns_after_new_columns_are_not_read() -> None:
    cut_short = b"I" + struct.pack("!I", 7) + b"N" + _tuple(b"1", b"a long value")[:-4]

    assert pgoutput.decode(cut_short, new_columns=1) == pgoutput.Insert(7, ("1",))


def test_new_row_head_reads_the_leading_columns_of_a_row_with_a_new_tuple_alone() -> None:
    insert = b"I" + struct.pack("!I", 7) + b"N" + _tuple(b"1", b"name", b"more")
    update = b"U" + struct.pack("!I", 7) + b"N" + _tuple(b"2", None, b"more")
    null_first = b"U" + struct.pack("!I", 7) + b"N" + _tuple(None, b"x")

    assert pgoutput.new_row_head(insert, 1) == ("1",)
    assert pgoutput.new_row_head(update, 2) == ("2", None)
    assert pgoutput.new_row_head(null_first, 1) == (None,)


@pytest.mark.parametrize(
    "message",
    [
        b"U" + struct.pack("!I", 7) + b"O" + _tuple(b"1", b"old") + b"N" + _tuple(b"1", b"new"),  # old tuple first
        b"D" + struct.pack("!I", 7) + b"K" + _tuple(b"1"),
        b"B" + struct.pack("!QqI", 1, 2, 3),
        b"I\0",
    ],
)
def test_new_row_head_leaves_every_other_message_to_decode(message: bytes) -> None:
    assert pgoutput.new_row_head(message, 1) is None


def test_a_malformed_new_row_head_is_a_clear_error() -> None:
    cut_short = b"I" + struct.pack("!I", 7) + b"N" + _tuple(b"12345")[:-2]

    with pytest.raises(PgOutputError, match="pgoutput Insert message of .* bytes is truncated or malformed"):
        pgoutput.new_row_head(cut_short, 1)


def test_row_relation_reads_the_relation_of_row_messages_only() -> None:
    delete = b"D" + struct.pack("!I", 42) + b"K" + _tuple(b"1")

    assert pgoutput.row_relation(delete) == 42
    assert pgoutput.row_relation(b"B" + struct.pack("!QqI", 1, 2, 3)) is None
    assert pgoutput.row_relation(b"I\0") is None


def test_origin_type_and_logical_message_decode() -> None:
    assert pgoutput.decode(b"O" + struct.pack("!Q", 5) + b"node\0") == pgoutput.Origin(5, "node")
    assert pgoutput.decode(b"Y" + struct.pack("!I", 9) + b"\0mood\0") == pgoutput.Type(9, "pg_catalog", "mood")
    message = b"M" + struct.pack("!BQ", 1, 77) + b"pfx\0" + struct.pack("!i", 3) + b"abc"
    assert pgoutput.decode(message) == pgoutput.Message(True, 77, "pfx", b"abc")


def test_unknown_message_is_skipped() -> None:
    assert pgoutput.decode(b"Zwhatever") is None


@pytest.mark.parametrize(
    "message",
    [
        b"B" + b"\0" * 10,  # Begin cut short
        b"I" + struct.pack("!I", 7) + b"N" + _tuple(b"12345")[:-2],  # value runs past the end
        b"R" + struct.pack("!I", 7) + b"public\0thin",  # string without terminator
        b"T" + struct.pack("!iB", 3, 0) + struct.pack("!I", 10),  # fewer oids than counted
        b"I" + struct.pack("!I", 7) + b"N" + struct.pack("!h", 1) + b"x",  # unknown column kind
    ],
)
def test_truncated_or_malformed_message_is_a_clear_error(message: bytes) -> None:
    with pytest.raises(PgOutputError, match="pgoutput .* message of .* bytes is truncated or malformed"):
        pgoutput.decode(message)
