"""Slot and publication management: create, extend, or explain exactly what to run."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from flusso_engine.capture.slot import ensure_publication, slot_exists, validate_slot_name
from flusso_engine.errors import CaptureError
from flusso_engine.model import TableRef
from tests.capture.support import PUBLICATION, SLOT

ITEMS = TableRef("public", "items")
OTHERS = TableRef("public", "others")


def _published(db: psycopg.Connection) -> set[TableRef]:
    rows = db.execute("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s", (PUBLICATION,))
    return {TableRef(schema, name) for schema, name in rows}


@pytest.fixture
def tables(db: psycopg.Connection) -> psycopg.Connection:
    db.execute("CREATE TABLE items (id int PRIMARY KEY); CREATE TABLE others (id int PRIMARY KEY)")
    db.execute("CREATE TABLE unrelated (id int PRIMARY KEY)")
    return db


def test_creates_the_publication_for_exactly_the_tables(tables: psycopg.Connection) -> None:
    ensure_publication(tables, PUBLICATION, {ITEMS, OTHERS}, manage=True)

    assert _published(tables) == {ITEMS, OTHERS}


def test_extends_the_publication_with_a_newly_needed_table(tables: psycopg.Connection) -> None:
    ensure_publication(tables, PUBLICATION, {ITEMS}, manage=True)

    ensure_publication(tables, PUBLICATION, {ITEMS, OTHERS}, manage=True)

    assert _published(tables) == {ITEMS, OTHERS}


def test_unmanaged_missing_publication_error_carries_the_sql_to_run(tables: psycopg.Connection) -> None:
    with pytest.raises(CaptureError, match=r'CREATE PUBLICATION "flusso_test" FOR TABLE "public"."items";'):
        ensure_publication(tables, PUBLICATION, {ITEMS}, manage=False)


def test_unmanaged_incomplete_publication_error_carries_the_alter(tables: psycopg.Connection) -> None:
    ensure_publication(tables, PUBLICATION, {ITEMS}, manage=True)

    with pytest.raises(CaptureError, match=r'ALTER PUBLICATION "flusso_test" ADD TABLE "public"."others";'):
        ensure_publication(tables, PUBLICATION, {ITEMS, OTHERS}, manage=False)


def test_without_the_privilege_the_error_carries_the_sql_to_run(tables: psycopg.Connection) -> None:
    role = f"flusso_weak_{uuid.uuid4().hex[:8]}"
    tables.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        tables.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        with pytest.raises(CaptureError, match=r'CREATE PUBLICATION "flusso_test" FOR TABLE "public"."items";'):
            ensure_publication(tables, PUBLICATION, {ITEMS}, manage=True)
    finally:
        tables.execute("RESET ROLE")
        tables.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_a_slot_with_another_plugin_is_a_clear_error(db: psycopg.Connection) -> None:
    db.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (SLOT,))

    with pytest.raises(CaptureError, match="exists with plugin 'test_decoding'.*pgoutput"):
        slot_exists(db, SLOT)


def test_a_missing_slot_is_reported_as_absent(db: psycopg.Connection) -> None:
    assert slot_exists(db, SLOT) is False


@pytest.mark.parametrize("name", ["Flusso", "bad-name", "", "x" * 64])
def test_invalid_slot_names_are_rejected_before_reaching_the_server(name: str) -> None:
    with pytest.raises(CaptureError, match="slot name"):
        validate_slot_name(name)
