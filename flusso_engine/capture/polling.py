"""PollingCapture: the same slot and decoder, read through SQL instead of a replication stream.

For poolers and replicas that refuse replication connections. Each poll peeks the slot from its
confirmed position (`pg_logical_slot_peek_binary_changes`, which never consumes), skips the
transactions this session already delivered, and moves the slot with
`pg_replication_slot_advance` only to what `confirm` made safe. A peek that reached the WAL
position read before it, with nothing in flight, advances the slot that far: unrelated traffic
never holds WAL, as with the stream's keepalives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

import psycopg

from flusso_engine.capture.acks import AckTracker
from flusso_engine.capture.relations import RelationCache, primary_key_columns
from flusso_engine.capture.retry import Reconnects
from flusso_engine.capture.slot import (
    SlotSource,
    create_slot_sql,
    ensure_publication,
    format_lsn,
    parse_lsn,
    publication_names_option,
    slot_exists,
)
from flusso_engine.capture.snapshot import read_snapshot
from flusso_engine.capture.transactions import TransactionAssembler
from flusso_engine.connection_names import named
from flusso_engine.errors import CaptureError
from flusso_engine.model import Ack, Change, Lsn, RowKey, TableRef

_PEEK = (
    "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, %s,"
    " 'proto_version', '1', 'publication_names', %s)"
)
_PERMANENT = (
    psycopg.errors.UndefinedObject,
    psycopg.errors.ObjectNotInPrerequisiteState,
    psycopg.errors.InsufficientPrivilege,
)


class PollingCapture:
    """ChangeCapture over SQL polling of `slot`, limited to `tables`."""

    def __init__(
        self,
        source: SlotSource,
        *,
        poll_interval: float = 0.5,
        max_changes_per_poll: int = 10_000,
    ) -> None:
        self._source = source
        self._poll_interval = poll_interval
        self._max_changes = max_changes_per_poll
        self._stop = threading.Event()
        self._acks = AckTracker()
        self._conn: psycopg.Connection | None = None
        self._prepared = False
        self._created_slot = False
        self._advanced: Lsn = 0

    def snapshot(self, tables: Sequence[TableRef], after: Mapping[TableRef, RowKey] | None = None) -> Iterator[Change]:
        """Read once the slot exists, so every later commit is in it; resumes after `after` only
        on a slot that existed before this session (see snapshot.py)."""
        self._prepare()
        resume = None if self._created_slot else after
        yield from read_snapshot(self._source.dsn, tables, self._stop, self._source.snapshot_page_size, resume)

    def live(self) -> Iterator[Change]:
        self._prepare()
        reconnects = Reconnects(f"polling of slot {self._source.slot!r}", self._stop, self._source.max_reconnects)
        assembler = TransactionAssembler(RelationCache(self._source.tables, self._primary_key))
        delivered: Lsn = 0
        while not self._stop.is_set():
            try:
                conn = self._connection()
                self._advance(conn)
                upto, payloads = self._peek(conn)
                reconnects.succeeded()
            except _PERMANENT as error:
                raise CaptureError(f"polling slot {self._source.slot!r} failed: {error}") from error
            except psycopg.OperationalError as error:
                self._disconnect()
                reconnects.failed(error)
                continue
            assembler.reset()
            for payload in payloads:
                transaction = assembler.feed(payload)
                if transaction is None or transaction.end_lsn <= delivered:
                    continue
                delivered = transaction.end_lsn
                changes = transaction.changes(self._acks.register)
                self._acks.observe(transaction.end_lsn)
                yield from changes
            if len(payloads) < self._max_changes:
                self._acks.observe(upto)  # the peek read everything up to `upto`
                self._stop.wait(self._poll_interval)

    def confirm(self, acks: Sequence[Ack]) -> None:
        self._acks.confirm(acks)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Advance the slot to what was confirmed after the stream ended, then disconnect."""
        if self._conn is not None and not self._conn.broken:
            try:
                self._advance(self._conn)
            except psycopg.Error:
                pass  # unreported confirms are redelivered next session: harmless
        self._disconnect()

    def _prepare(self) -> None:
        if self._prepared:
            return
        conn = self._connection()
        ensure_publication(conn, self._source.publication, self._source.tables, self._source.manage_publication)
        if not slot_exists(conn, self._source.slot):
            create_slot_sql(conn, self._source.slot)
            self._created_slot = True
        self._prepared = True

    def _peek(self, conn: psycopg.Connection) -> tuple[Lsn, list[bytes]]:
        """The flushed WAL position read first (logical decoding reads no further), and the
        slot's messages up to it, whole transactions only."""
        row = conn.execute("SELECT pg_current_wal_flush_lsn()::text").fetchone()
        assert row is not None
        upto = row[0]
        publications = publication_names_option(conn, self._source.publication)
        rows = conn.execute(_PEEK, (self._source.slot, upto, self._max_changes, publications)).fetchall()
        return parse_lsn(upto), [data for (data,) in rows]

    def _advance(self, conn: psycopg.Connection) -> None:
        position = self._acks.flush_position()
        if position <= self._advanced:
            return
        row = conn.execute(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", (self._source.slot,)
        ).fetchone()
        if row is not None and row[0] is not None and parse_lsn(row[0]) >= position:
            self._advanced = position  # already there (another session moved it): never backwards
            return
        conn.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (self._source.slot, format_lsn(position)))
        self._advanced = position

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(named(self._source.dsn, "poll"), autocommit=True)
        return self._conn

    def _primary_key(self, relation_oid: int) -> tuple[str, ...]:
        return primary_key_columns(self._connection(), relation_oid)

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None
