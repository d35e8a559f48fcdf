"""The backfill read: every current primary key of the root tables, as SNAPSHOT changes.

One REPEATABLE READ transaction serves every table, so all pages see one state of the database.
When the slot was created just now, that state is the one the slot exported: exactly its start,
so the live stream continues where the snapshot ends with nothing lost or doubled. Otherwise the
snapshot is taken at the current position, and its changes carry the WAL position read before
the snapshot (a lower bound), so a live change committed later always carries a higher one.
Keys are read in keyset pages (`WHERE (pk) > (last) ORDER BY pk LIMIT n`): each page is an index
range scan and nothing server-side has to outlive a page. The same query starts a table strictly
after a given key, which is how a killed backfill resumes from its checkpoint.

A capture resumes that way only on a slot that already existed: the rows before the checkpoint
were read by an earlier run, and only a slot kept since holds the changes made to them after
that. A slot created just now holds none of them, so the snapshot then reads every row again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

import psycopg
from psycopg import sql

from flusso_engine.capture.acks import UNTRACKED
from flusso_engine.capture.relations import primary_key_columns
from flusso_engine.capture.slot import parse_lsn
from flusso_engine.connection_names import named
from flusso_engine.model import Ack, Change, Lsn, Op, RowKey, TableRef


def read_snapshot(
    dsn: str,
    tables: Sequence[TableRef],
    stop: threading.Event,
    page_size: int,
    exported: tuple[str, Lsn] | None = None,
    after: Mapping[TableRef, RowKey] | None = None,
) -> Iterator[Change]:
    """SNAPSHOT changes for every row of `tables`, or of a table's rows strictly after its key in
    `after`; `exported` is (snapshot name, its LSN)."""
    starts = after or {}
    with psycopg.connect(named(dsn, "snapshot"), autocommit=True) as conn:
        if exported is None:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert row is not None
            lsn, snapshot_name = parse_lsn(row[0]), None
        else:
            snapshot_name, lsn = exported
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            if snapshot_name is not None:
                conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot_name)))
            ack = Ack(UNTRACKED, lsn)
            for table in tables:
                for key in _keys(conn, table, page_size, starts.get(table)):
                    if stop.is_set():
                        return
                    yield Change(Op.SNAPSHOT, table, key, ack)


def _keys(conn: psycopg.Connection, table: TableRef, page_size: int, start: RowKey | None) -> Iterator[RowKey]:
    """The table's keys after `start` (all of them without one) in primary-key order, page by
    page, each value as `col::text`.

    `start` and the last key of each page go back as text parameters of unknown type, so
    Postgres reads them with the columns' own input functions and compares in the columns' own
    order: a key in canonical text form resumes exactly where the previous read stopped.
    """
    # Qualified: an unqualified ORDER BY would sort by the `::text` output column of that name.
    columns = [sql.Identifier(table.schema, table.name, name) for name in primary_key_columns(conn, table)]
    key = sql.SQL(", ").join(columns)
    select = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(c) for c in columns),
        sql.Identifier(table.schema, table.name),
    )
    order = sql.SQL("ORDER BY {} LIMIT {}").format(key, sql.Literal(page_size))
    first = sql.SQL("{} {}").format(select, order)
    after = sql.SQL("{} WHERE ({}) > ({}) {}").format(
        select, key, sql.SQL(", ").join(sql.Placeholder() * len(columns)), order
    )
    page = conn.execute(first).fetchall() if start is None else conn.execute(after, start).fetchall()
    while page:
        yield from page
        if len(page) < page_size:
            return
        page = conn.execute(after, page[-1]).fetchall()
