"""One live run per slot, enforced by Postgres itself.

A session-level advisory lock keyed by the slot name is held for the whole live run on a
connection of its own. Whoever starts a second live loop on the same slot (a duplicate Dagster
run, a CLI next to Dagster, an orphaned worker) is refused before it touches anything; the lock
goes away with the holder's connection, so a killed process never leaves it behind.
"""

from __future__ import annotations

from types import TracebackType

import psycopg

from flusso_engine.connection_names import named
from flusso_engine.errors import FlussoError

_LOCK_SQL = "SELECT pg_try_advisory_lock(hashtext(%s))"


class LiveRunLocked(FlussoError):
    """Another live run holds the slot's lock."""


class LiveRunLock:
    """`with LiveRunLock(dsn, slot):` holds the lock or raises LiveRunLocked at once."""

    def __init__(self, dsn: str, slot: str) -> None:
        self._dsn = dsn
        self._key = f"flusso-live:{slot}"
        self._slot = slot
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> LiveRunLock:
        conn = psycopg.connect(named(self._dsn, "lock"), autocommit=True)
        row = conn.execute(_LOCK_SQL, (self._key,)).fetchone()
        if not (row and row[0]):
            conn.close()
            raise LiveRunLocked(
                f"another live run already follows slot {self._slot!r}; "
                "stop it first (only one live run per slot may apply changes)"
            )
        self._conn = conn
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        if self._conn is not None:
            self._conn.close()  # closing the session releases the lock
            self._conn = None
