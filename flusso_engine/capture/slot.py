"""The replication slot and the publication: the server-side state a capture resumes from.

The publication names exactly the tables the indexes read, so the server does not decode and
ship changes nobody follows. When it is missing tables, flusso adds them if allowed; otherwise
(or without the privilege) it stops with the exact SQL an operator must run. A slot that exists
with another plugin, or in another database, is an error that says so, never a silent reuse.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import psycopg
from psycopg import sql

from flusso_engine.errors import CaptureError
from flusso_engine.model import Lsn, TableRef

PLUGIN = "pgoutput"
_SLOT_NAME = re.compile(r"[a-z0-9_]{1,63}")


@dataclass(frozen=True)
class SlotSource:
    """What a capture follows: a database, its slot and publication, and the tables read.

    Both transports take one, since they differ only in how they read the slot.
    `manage_publication` lets the capture create or extend the publication itself; a backfill
    reads a root table in pages of `snapshot_page_size` rows, each one batch of documents built
    and flushed (8192: builds of that many documents took a quarter less engine CPU per
    document than builds of 1000, B1, and it bounds what a batch holds); a lost connection is
    retried `max_reconnects` times in a row before the capture gives up.
    """

    dsn: str
    slot: str
    publication: str
    tables: frozenset[TableRef]
    manage_publication: bool = True
    snapshot_page_size: int = 8192
    max_reconnects: int = 8

    def __post_init__(self) -> None:
        validate_slot_name(self.slot)


def parse_lsn(text: str) -> Lsn:
    """'16/B374D848' → the LSN as an integer."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(lsn: Lsn) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def validate_slot_name(slot: str) -> None:
    """Postgres accepts only lower-case letters, digits and underscores, at most 63 of them."""
    if not _SLOT_NAME.fullmatch(slot):
        raise CaptureError(
            f"replication slot name {slot!r} is invalid: use 1-63 lower-case letters, digits or '_'"
        )


def slot_exists(conn: psycopg.Connection, slot: str) -> bool:
    """Whether the slot exists and is ours to use; an error if it exists but cannot serve."""
    row = conn.execute(
        "SELECT slot_type, plugin, database, database = current_database()"
        " FROM pg_replication_slots WHERE slot_name = %s",
        (slot,),
    ).fetchone()
    if row is None:
        return False
    slot_type, plugin, database, here = row
    if slot_type != "logical" or plugin != PLUGIN:
        raise CaptureError(
            f"replication slot {slot!r} exists with plugin {plugin or slot_type!r}, but flusso "
            f"needs a logical {PLUGIN} slot. Fix: choose another slot name, or drop it with "
            f"SELECT pg_drop_replication_slot('{slot}');"
        )
    if not here:
        raise CaptureError(
            f"replication slot {slot!r} belongs to database {database!r}, not this one; "
            "a logical slot decodes one database. Fix: choose another slot name."
        )
    return True


def create_slot_command(slot: str) -> str:
    """The replication-protocol command creating the slot. It exports no snapshot: a backfill
    reads current rows once the slot exists (see snapshot.py), so none is ever imported."""
    validate_slot_name(slot)
    return sql.SQL("CREATE_REPLICATION_SLOT {} LOGICAL {} NOEXPORT_SNAPSHOT").format(
        sql.Identifier(slot), sql.Identifier(PLUGIN)
    ).as_string(None)


def create_slot_sql(conn: psycopg.Connection, slot: str) -> Lsn:
    """Create the slot through SQL (for transports without replication connections)."""
    row = conn.execute(
        "SELECT lsn::text FROM pg_create_logical_replication_slot(%s, %s)", (slot, PLUGIN)
    ).fetchone()
    assert row is not None
    return parse_lsn(row[0])


def publication_names_option(conn: psycopg.Connection, publication: str) -> str:
    """pgoutput's `publication_names` value: an identifier list, so the name is quoted."""
    return sql.Identifier(publication).as_string(conn)


def coverage_statement(publication: str, missing: Collection[TableRef], exists: bool) -> sql.Composed:
    """The statement that makes `publication` cover `missing`: run here when flusso manages the
    publication, shown to the operator (by `ensure_publication` and `flusso check`) when not."""
    tables = sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in sorted(missing))
    template = "ALTER PUBLICATION {} ADD TABLE {}" if exists else "CREATE PUBLICATION {} FOR TABLE {}"
    return sql.SQL(template).format(sql.Identifier(publication), tables)


def ensure_publication(
    conn: psycopg.Connection, publication: str, tables: Collection[TableRef], manage: bool
) -> None:
    """Make the publication cover `tables`: create or extend it when allowed, else explain.

    `conn` must be in autocommit mode. A publication FOR ALL TABLES covers everything already.
    """
    exists = conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (publication,)).fetchone()
    present = {
        TableRef(schema, name)
        for schema, name in conn.execute(
            "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s", (publication,)
        )
    }
    missing = sorted(set(tables) - present)
    if exists and not missing:
        return
    statement = coverage_statement(publication, missing, exists=bool(exists))
    if exists:
        problem = f"publication {publication!r} does not include {', '.join(map(str, missing))}"
    else:
        problem = f"publication {publication!r} does not exist"
    text = statement.as_string(conn) + ";"
    if not manage:
        raise CaptureError(
            f"{problem}, and publication management is off. Fix: run as a role owning the tables: {text}"
        )
    try:
        conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege as error:
        raise CaptureError(
            f"{problem}, and this role may not change it ({error.diag.message_primary}). "
            f"Fix: run as a role owning the tables: {text}"
        ) from None
    except psycopg.errors.UndefinedTable as error:
        raise CaptureError(f"{problem}: {error.diag.message_primary}") from None
