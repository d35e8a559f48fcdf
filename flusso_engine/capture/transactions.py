"""Decoded pgoutput messages → whole transactions of thin changes.

Shared by the streaming and the polling transport, which differ only in how payloads arrive.
A transaction's changes are released at its Commit because their ack needs the commit's LSN
(the slot can only be confirmed at commit boundaries) and because a change read before its
commit may still be rolled back. Changes are thin, so buffering a large transaction is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flusso_engine.capture import pgoutput
from flusso_engine.capture.relations import RelationCache, RelationInfo
from flusso_engine.errors import CaptureError
from flusso_engine.model import Ack, Change, Lsn, Op, RowKey, TableRef

_INSERT = ord("I")

_Pending = tuple[Op, TableRef, RowKey, RowKey | None, dict[str, str | None] | None]


@dataclass(frozen=True, slots=True)
class Transaction:
    """A committed transaction's changes to followed tables (possibly none)."""

    end_lsn: Lsn
    commit_time: float
    pending: list[_Pending]
    xid: int | None = None

    def changes(self, register: Callable[[Lsn, int], list[Ack]]) -> list[Change]:
        """The transaction's Changes, each with a fresh ack at the commit's end LSN."""
        at, xid = self.commit_time, self.xid
        acks = register(self.end_lsn, len(self.pending))
        return [
            Change(op, table, key, ack, at, old_key, old_values, xid)
            for (op, table, key, old_key, old_values), ack in zip(self.pending, acks)
        ]


class TransactionAssembler:
    """Feed it payloads in stream order; it hands back each transaction at its commit."""

    def __init__(self, relations: RelationCache) -> None:
        self._relations = relations
        self._open: list[_Pending] = []
        self._in_transaction = False
        self._xid: int | None = None

    @property
    def in_transaction(self) -> bool:
        """Between a Begin and its Commit: no position inside it may be confirmed."""
        return self._in_transaction

    def reset(self) -> None:
        """Forget a transaction cut off by a lost connection: the server resends it whole."""
        self._open = []
        self._in_transaction = False

    def feed(self, payload: bytes) -> Transaction | None:
        oid = pgoutput.row_relation(payload)
        if oid is not None:
            self._row(oid, payload)
            return None
        message = pgoutput.decode(payload)
        kind = type(message)
        if kind is pgoutput.Commit:
            return self._commit(message)  # type: ignore[arg-type]
        elif kind is pgoutput.Begin:
            self._open = []
            self._in_transaction = True
            self._xid = message.xid  # type: ignore[attr-defined]
        elif kind is pgoutput.Relation:
            self._relations.learn(message)  # type: ignore[arg-type]
        elif kind is pgoutput.Truncate:
            self._truncate(message)  # type: ignore[arg-type]
        return None

    def _commit(self, commit: pgoutput.Commit) -> Transaction:
        done = Transaction(commit.end_lsn, pgoutput.pg_time_to_epoch(commit.commit_time), self._open, self._xid)
        self._open = []
        self._in_transaction = False
        return done

    def _row(self, oid: int, payload: bytes) -> None:
        """An Insert, Update or Delete. A table the capture does not follow is skipped undecoded,
        and of a new row only the columns up to the last key column are decoded."""
        relation = self._relations.get(oid)
        if relation is None:
            return
        head = pgoutput.new_row_head(payload, relation.key_end)
        if head is not None:  # an Insert, or an Update that kept its key: no old tuple to read
            op = Op.INSERT if payload[0] == _INSERT else Op.UPDATE
            self._open.append((op, relation.table, _new_key(relation, head, None), None, None))
            return
        message = pgoutput.decode(payload, new_columns=relation.key_end)  # a malformed Insert raises
        if isinstance(message, pgoutput.Update):
            self._update(relation, message)
        elif isinstance(message, pgoutput.Delete):
            self._delete(relation, message)

    def _update(self, relation: RelationInfo, message: pgoutput.Update) -> None:
        old_key = old_values = None
        if message.old is not None and message.old_kind is not None:
            old_key = relation.old_key(message.old_kind, message.old)
            old_values = relation.old_values(message.old_kind, message.old)
        key = _new_key(relation, message.new, old_key)
        moved = old_key if old_key is not None and old_key != key else None
        self._open.append((Op.UPDATE, relation.table, key, moved, old_values))

    def _delete(self, relation: RelationInfo, message: pgoutput.Delete) -> None:
        key = relation.old_key(message.old_kind, message.old)
        if key is None:
            raise CaptureError(
                f"a DELETE on {relation.table} does not carry its primary key: the table's "
                "replica identity does not include it. Fix: ALTER TABLE ... REPLICA IDENTITY "
                "DEFAULT (or FULL)"
            )
        self._open.append(
            (Op.DELETE, relation.table, key, None, relation.old_values(message.old_kind, message.old))
        )

    def _truncate(self, message: pgoutput.Truncate) -> None:
        for oid in message.relation_oids:
            relation = self._relations.get(oid)
            if relation is not None:
                self._open.append((Op.TRUNCATE, relation.table, (), None, None))


def _new_key(relation: RelationInfo, new: pgoutput.TupleData, old_key: RowKey | None) -> RowKey:
    """The new tuple's key; a key column sent as unchanged TOAST keeps the old tuple's value."""
    key = relation.key(new)
    if key is not None:
        return key
    if old_key is not None:
        return tuple(
            old if value is pgoutput.UNCHANGED else value  # type: ignore[misc]
            for value, old in zip((new[i] for i in relation.key_positions), old_key)
        )
    raise CaptureError(f"a change on {relation.table} arrived without its primary-key values")
