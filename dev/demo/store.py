"""The demo store's schema: creating it from store.sql and dropping it again.

The generator and the tests share this so "what the store is" lives in one place: the SQL file
for the shape, TABLES for the names code needs to walk over. The file has two parts (tables, then
constraints and indexes) so a bulk load can run between them.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from psycopg import sql

SCHEMA_FILE = Path(__file__).with_name("store.sql")
#: The line of store.sql that separates the tables from what is added after their rows.
AFTER_LOAD_MARKER = re.compile(r"^-- after bulk load$", re.MULTILINE)

#: Every table of the store, parents before children (the order rows can be loaded in).
TABLES: tuple[str, ...] = (
    "users",
    "profiles",
    "addresses",
    "categories",
    "products",
    "tags",
    "product_tags",
    "orders",
    "order_items",
)

#: Tables keyed by a generated `id` column, whose identity must move past loaded rows.
IDENTITY_TABLES: tuple[str, ...] = ("users", "addresses", "categories", "products", "tags", "orders", "order_items")

ENUM_TYPES: tuple[str, ...] = ("order_status",)


class StoreExists(RuntimeError):
    """The database already holds the store; recreating it needs an explicit reset."""


def store_exists(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT to_regclass('public.users') IS NOT NULL").fetchone()
    return bool(row and row[0])


def drop_store(conn: psycopg.Connection) -> None:
    """Remove every store object, so a reset starts from nothing (absent objects are fine)."""
    conn.execute(
        sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.SQL(", ").join(sql.Identifier(t) for t in reversed(TABLES)))
    )
    for type_name in ENUM_TYPES:
        conn.execute(sql.SQL("DROP TYPE IF EXISTS {} CASCADE").format(sql.Identifier(type_name)))


def _schema_parts() -> tuple[str, str]:
    parts = AFTER_LOAD_MARKER.split(SCHEMA_FILE.read_text(encoding="utf-8"))
    if len(parts) != 2:
        raise RuntimeError(f"{SCHEMA_FILE} needs exactly one '-- after bulk load' line between tables and constraints")
    return parts[0], parts[1]


def create_tables(conn: psycopg.Connection, *, reset: bool) -> None:
    """Create the bare tables; an existing store is replaced only with `reset`, never silently."""
    if store_exists(conn):
        if not reset:
            raise StoreExists("the demo store already exists in this database; pass --reset to drop and recreate it")
        drop_store(conn)
    conn.execute(_schema_parts()[0])


def add_constraints(conn: psycopg.Connection) -> None:
    """Foreign keys, unique constraints, indexes and replica identities: the part after the rows."""
    conn.execute(_schema_parts()[1])


def move_identities_past_rows(conn: psycopg.Connection) -> None:
    """Rows loaded with explicit ids leave the identity sequences at 1; new inserts must not collide."""
    for table in IDENTITY_TABLES:
        conn.execute(
            sql.SQL("SELECT setval(pg_get_serial_sequence({table}, 'id'), coalesce(max(id), 0) + 1, false) FROM {ident}").format(
                table=sql.Literal(table), ident=sql.Identifier(table)
            )
        )
