"""Keys are canonical: the PG text form, equal on the WAL path and the read-back path, for every key type."""

from __future__ import annotations

import psycopg
import pytest

from flusso_engine.model import Op
from tests.documents.store import Builder, body, change

KEY_VALUES = {
    "int": "42",
    "bigint": "9000000000",
    "uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "text": "K-1 é",
    "date": "2024-03-01",
    "timestamp": "2024-03-01 10:11:12.5",
    "bytea": "\\x00ff10",
    "numeric": "1.50",
}


def parent_and_child(pg: psycopg.Connection, key_type: str) -> str:
    """A parent keyed by `key_type` with one child; returns the key as Postgres prints it."""
    pg.execute(f"CREATE TABLE parent (id {key_type} PRIMARY KEY, name text)")
    pg.execute(f"CREATE TABLE child (id int PRIMARY KEY, parent_id {key_type})")
    pg.execute("INSERT INTO parent VALUES (%s, 'p')", (KEY_VALUES[key_type],))
    pg.execute("INSERT INTO child SELECT 7, id FROM parent")
    (text,) = pg.execute("SELECT id::text FROM parent").fetchone()
    return text


PARENT_SCHEMA = """version: 1
table: parent
primary_key: id
fields:
  - keyword: name
    required: true
  - count: children
    table: child
    foreign_key: parent_id
"""


@pytest.mark.parametrize("key_type", list(KEY_VALUES))
def test_a_key_in_text_form_builds_its_document(pg: psycopg.Connection, builder: Builder, key_type: str) -> None:
    key = parent_and_child(pg, key_type)
    assert body(builder(parent=PARENT_SCHEMA), "parent", key) == {"name": "p", "children": 1}


@pytest.mark.parametrize("key_type", list(KEY_VALUES))
def test_resolve_reads_keys_back_in_the_same_text_form(pg: psycopg.Connection, builder: Builder, key_type: str) -> None:
    key = parent_and_child(pg, key_type)
    b = builder(parent=PARENT_SCHEMA)
    assert b.resolve([change("child", "7", Op.UPDATE)]) == {"parent": {(key,)}}


def test_a_composite_key_builds_its_document(pg: psycopg.Connection, builder: Builder) -> None:
    pg.execute("CREATE TABLE pair (region text, day date, total int, PRIMARY KEY (region, day))")
    pg.execute("INSERT INTO pair VALUES ('eu', '2024-03-01', 5), ('eu', '2024-03-02', 6)")
    b = builder(pair="version: 1\ntable: pair\nprimary_key: [region, day]\nfields:\n  - integer: total\n    required: true\n")
    documents = b.build("pair", [("eu", "2024-03-02"), ("us", "2024-03-01")], version=1)
    assert [d.body for d in documents] == [b'{"total":6}', None]


def test_the_catalog_key_serves_when_none_is_declared(pg: psycopg.Connection, builder: Builder) -> None:
    pg.execute("CREATE TABLE plain (code text PRIMARY KEY, n int)")
    pg.execute("INSERT INTO plain VALUES ('a', 1)")
    b = builder(plain="version: 1\ntable: plain\nfields:\n  - integer: n\n    required: true\n")
    assert body(b, "plain", "a") == {"n": 1}
