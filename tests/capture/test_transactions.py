"""The transaction assembler, on hand-built pgoutput streams: what it reads of each row message."""

from __future__ import annotations

import struct

import pytest

from flusso_engine.capture import pgoutput
from flusso_engine.capture.acks import AckTracker
from flusso_engine.capture.relations import RelationCache
from flusso_engine.capture.transactions import TransactionAssembler
from flusso_engine.model import Change, Op, TableRef

ITEMS = TableRef("public", "items")
ITEMS_OID = 7
OTHER_OID = 8


def _tuple(*values: bytes | None) -> bytes:
    parts = [struct.pack("!h", len(values))]
    for value in values:
        parts.append(b"n" if value is None else b"t" + struct.pack("!i", len(value)) + value)
    return b"".join(parts)


def _relation(oid: int, name: bytes, columns: tuple[bytes, ...]) -> bytes:
    described = b"".join(b"\0" + column + b"\0" + struct.pack("!Ii", 25, -1) for column in columns)
    return b"R" + struct.pack("!I", oid) + b"public\0" + name + b"\0d" + struct.pack("!h", len(columns)) + described


def _changes(*messages: bytes, key: tuple[str, ...] = ("id",)) -> list[Change]:
    assembler = TransactionAssembler(RelationCache({ITEMS}, lambda oid: key))
    stream = [b"B" + struct.pack("!QqI", 100, 0, 1), *messages, b"C" + struct.pack("!BQQq", 0, 100, 120, 0)]
    done = [t for payload in stream if (t := assembler.feed(payload)) is not None]
    return [change for transaction in done for change in transaction.changes(AckTracker().register)]


def test_a_row_is_keyed_by_its_primary_key_wherever_the_key_columns_stand() -> None:
    relation = _relation(ITEMS_OID, b"items", (b"note", b"order_id", b"line"))
    insert = b"I" + struct.pack("!I", ITEMS_OID) + b"N" + _tuple(b"hello", b"12", b"3")

    (change,) = _changes(relation, insert, key=("order_id", "line"))

    assert (change.op, change.table, change.key) == (Op.INSERT, ITEMS, ("12", "3"))


def test_columns_after_the_key_of_a_new_row_are_not_decoded() -> None:
    relation = _relation(ITEMS_OID, b"items", (b"id", b"note"))
    not_utf8 = b"U" + struct.pack("!I", ITEMS_OID) + b"N" + _tuple(b"5", b"\xff\xfe")

    (change,) = _changes(relation, not_utf8)

    assert (change.op, change.key) == (Op.UPDATE, ("5",))


def test_rows_of_tables_not_followed_are_skipped_undecoded() -> None:
    relation = _relation(OTHER_OID, b"other", (b"id",))
    malformed = b"I" + struct.pack("!I", OTHER_OID) + b"N" + struct.pack("!h", 1) + b"x"

    assert _changes(relation, malformed) == []


def test_a_full_old_row_is_decoded_whole_for_its_old_values() -> None:
    relation = _relation(ITEMS_OID, b"items", (b"id", b"order_id"))
    moved = b"U" + struct.pack("!I", ITEMS_OID) + b"O" + _tuple(b"5", b"1") + b"N" + _tuple(b"5", b"2")

    (change,) = _changes(relation, moved)

    assert change.key == ("5",) and change.old_values == {"id": "5", "order_id": "1"} and change.old_key is None


def test_decoding_a_followed_row_stays_strict() -> None:
    relation = _relation(ITEMS_OID, b"items", (b"id",))
    malformed = b"I" + struct.pack("!I", ITEMS_OID) + b"N" + struct.pack("!h", 1) + b"x"

    with pytest.raises(pgoutput.PgOutputError):
        _changes(relation, malformed)
