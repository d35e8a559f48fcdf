"""Where a slot stands against the server: lag in bytes, confirmed position, server head.

Read out of band on a short-lived connection by whoever reports on a run (CLI, Dagster), never
by the capture itself, so a slow status query cannot stall the stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from flusso_engine.capture.slot import parse_lsn
from flusso_engine.connection_names import named
from flusso_engine.model import Lsn


@dataclass(frozen=True, slots=True)
class SlotPosition:
    confirmed: Lsn | None  # None: the slot does not exist (yet)
    head: Lsn

    @property
    def lag_bytes(self) -> int | None:
        return None if self.confirmed is None else max(0, self.head - self.confirmed)


def slot_position(dsn: str, slot: str) -> SlotPosition:
    with psycopg.connect(named(dsn, "report"), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT pg_current_wal_lsn()::text, "
            "(SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s)",
            (slot,),
        ).fetchone()
    assert row is not None
    return SlotPosition(confirmed=parse_lsn(row[1]) if row[1] else None, head=parse_lsn(row[0]))
