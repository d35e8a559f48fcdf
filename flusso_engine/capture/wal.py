"""WalCapture: changes streamed from a pgoutput replication slot over psycopg2.

psycopg 3 has no streaming-replication protocol, so the stream runs on psycopg2's
LogicalReplicationConnection; catalog lookups and the snapshot use psycopg 3. One thread runs
`live()`; `confirm()` may come from another and only records acks, and the stream thread turns
them into standby status updates (psycopg2 connections are not for concurrent use). The slot
thus only advances past changes whose documents are durable, and past everything seen when
nothing is in flight, so WAL from unrelated tables is never held on the server.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Iterator, Mapping, Sequence

import psycopg
import psycopg2
import psycopg2.errors
import psycopg2.extras

from flusso_engine.capture.acks import AckTracker
from flusso_engine.capture.relations import RelationCache, primary_key_columns
from flusso_engine.capture.retry import Reconnects
from flusso_engine.capture.slot import (
    SlotSource,
    create_slot_command,
    ensure_publication,
    publication_names_option,
    slot_exists,
)
from flusso_engine.capture.snapshot import read_snapshot
from flusso_engine.capture.transactions import TransactionAssembler
from flusso_engine.connection_names import named
from flusso_engine.errors import CaptureError
from flusso_engine.model import Ack, Change, RowKey, TableRef

#: Errors no reconnect can cure: the slot is gone, invalidated, or the role lacks a privilege.
_PERMANENT = (
    psycopg2.errors.UndefinedObject,
    psycopg2.errors.ObjectNotInPrerequisiteState,
    psycopg2.errors.InsufficientPrivilege,
    psycopg2.errors.InvalidAuthorizationSpecification,
)
_CONNECTION_LOST = (psycopg2.Error, psycopg.OperationalError, OSError)


class WalCapture:
    """ChangeCapture over streaming replication from `slot`, limited to `tables`."""

    def __init__(
        self,
        source: SlotSource,
        *,
        poll_timeout: float = 0.2,
        status_interval: float = 10.0,
        idle_probe_interval: float = 1.0,
    ) -> None:
        self._source = source
        self._poll_timeout = poll_timeout
        self._status_interval = status_interval
        self._idle_probe_interval = idle_probe_interval
        self._next_probe = 0.0
        self._stop = threading.Event()
        self._acks = AckTracker()
        self._catalog: psycopg.Connection | None = None
        self._replication: psycopg2.extensions.connection | None = None
        self._cursor: psycopg2.extras.ReplicationCursor | None = None
        self._prepared = False
        self._created_slot = False
        self._sent = 0

    def snapshot(self, tables: Sequence[TableRef], after: Mapping[TableRef, RowKey] | None = None) -> Iterator[Change]:
        """Read once the slot exists, so every later commit is in it; resumes after `after` only
        on a slot that existed before this session (see snapshot.py)."""
        self._prepare()
        resume = None if self._created_slot else after
        yield from read_snapshot(self._source.dsn, tables, self._stop, self._source.snapshot_page_size, resume)

    def live(self) -> Iterator[Change]:
        self._prepare()
        reconnects = Reconnects(f"replication stream of slot {self._source.slot!r}", self._stop, self._source.max_reconnects)
        assembler = TransactionAssembler(RelationCache(self._source.tables, self._primary_key))
        while not self._stop.is_set():
            try:
                cursor = self._start_stream()
                reconnects.succeeded()
                yield from self._stream(cursor, assembler)
            except _PERMANENT as error:
                raise CaptureError(f"replication from slot {self._source.slot!r} failed: {error}") from error
            except _CONNECTION_LOST as error:
                self._disconnect()
                assembler.reset()
                reconnects.failed(error)

    def confirm(self, acks: Sequence[Ack]) -> None:
        self._acks.confirm(acks)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Report what was confirmed after the stream ended, then release the connections."""
        if self._cursor is not None:
            try:
                self._send_feedback(self._cursor)
            except _CONNECTION_LOST:
                pass  # unreported confirms are redelivered next session: harmless
        self._disconnect()
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    def _prepare(self) -> None:
        """Publication first (pgoutput reads it as of the slot's start), then the slot."""
        if self._prepared:
            return
        catalog = self._catalog_connection()
        ensure_publication(catalog, self._source.publication, self._source.tables, self._source.manage_publication)
        if not slot_exists(catalog, self._source.slot):
            cursor = self._replication_cursor()
            cursor.execute(create_slot_command(self._source.slot))
            cursor.fetchone()  # (slot, consistent point, no snapshot, plugin): the slot is ready
            self._created_slot = True
        self._prepared = True

    def _stream(self, cursor: psycopg2.extras.ReplicationCursor, assembler: TransactionAssembler) -> Iterator[Change]:
        acks = self._acks
        read = cursor.read_message
        feed = assembler.feed
        while not self._stop.is_set():
            message = read()
            if message is None:
                if not assembler.in_transaction:
                    acks.observe(cursor.wal_end)
                self._send_feedback(cursor)
                self._probe(cursor)
                select.select([cursor], [], [], self._poll_timeout)
                continue
            transaction = feed(message.payload)
            if transaction is None:
                continue
            changes = transaction.changes(acks.register)
            acks.observe(transaction.end_lsn)  # after registering: its changes are in flight
            yield from changes
            self._send_feedback(cursor)

    def _send_feedback(self, cursor: psycopg2.extras.ReplicationCursor) -> None:
        position = self._acks.flush_position()
        if position > self._sent:
            cursor.send_feedback(write_lsn=position, flush_lsn=position, force=True)
            self._sent = position

    def _probe(self, cursor: psycopg2.extras.ReplicationCursor) -> None:
        """Ask the server for a keepalive while idle: its WAL end lets the slot advance past
        traffic on tables we do not follow, which otherwise shows only every
        wal_sender_timeout / 2 (PG 15 skips empty transactions entirely)."""
        now = time.monotonic()
        if now >= self._next_probe:
            cursor.send_feedback(reply=True, force=True)
            self._next_probe = now + self._idle_probe_interval

    def _start_stream(self) -> psycopg2.extras.ReplicationCursor:
        cursor = self._replication_cursor()
        cursor.start_replication(
            slot_name=self._source.slot,
            decode=False,
            status_interval=self._status_interval,
            options={
                "proto_version": "1",
                "publication_names": publication_names_option(self._catalog_connection(), self._source.publication),
            },
        )
        self._sent = 0  # a new session: report the confirmed position again
        return cursor

    def _replication_cursor(self) -> psycopg2.extras.ReplicationCursor:
        if self._cursor is None:
            self._replication = psycopg2.connect(
                named(self._source.dsn, "stream"), connection_factory=psycopg2.extras.LogicalReplicationConnection
            )
            self._cursor = self._replication.cursor()
        return self._cursor

    def _catalog_connection(self) -> psycopg.Connection:
        if self._catalog is None or self._catalog.closed or self._catalog.broken:
            self._catalog = psycopg.connect(named(self._source.dsn, "catalog"), autocommit=True)
        return self._catalog

    def _primary_key(self, relation_oid: int) -> tuple[str, ...]:
        return primary_key_columns(self._catalog_connection(), relation_oid)

    def _disconnect(self) -> None:
        if self._replication is not None:
            try:
                self._replication.close()
            except psycopg2.Error:
                pass
        self._replication = None
        self._cursor = None
