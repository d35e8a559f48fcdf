"""A backfill page: the documents of the root rows in a key range, read by the range itself."""

from __future__ import annotations

import orjson
import psycopg
import pytest

from flusso_engine.model import RowKey
from tests.documents.store import Builder, users_schema
from tests.documents.test_keys import KEY_VALUES, PARENT_SCHEMA, parent_and_child

ID_ONLY = "  - integer: id\n    required: true\n"


def page_keys(builder: Builder, after: RowKey | None, upto: RowKey) -> list[RowKey]:
    return sorted((d.id.key for d in builder.build_page("users", after, upto, version=1)), key=lambda k: int(k[0]))


def test_a_first_page_holds_every_document_up_to_its_bound(store: psycopg.Connection, builder: Builder) -> None:
    assert page_keys(builder(users=users_schema(ID_ONLY)), None, ("3",)) == [("1",), ("2",), ("3",)]


def test_a_page_holds_the_documents_after_its_lower_bound_and_up_to_its_upper(
    store: psycopg.Connection, builder: Builder
) -> None:
    store.execute("INSERT INTO users (id) SELECT g FROM generate_series(5, 40) AS g")
    assert page_keys(builder(users=users_schema(ID_ONLY)), ("9",), ("12",)) == [("10",), ("11",), ("12",)]


def test_a_page_compares_keys_in_their_columns_order_not_as_text(store: psycopg.Connection, builder: Builder) -> None:
    store.execute("INSERT INTO users (id) VALUES (10), (100)")
    assert page_keys(builder(users=users_schema(ID_ONLY)), ("4",), ("10",)) == [("10",)]


def test_a_page_leaves_out_the_rows_that_are_no_documents(store: psycopg.Connection, builder: Builder) -> None:
    """Users 2 and 3 are archived, 4 is soft-deleted: a backfill has nothing of theirs to delete."""
    b = builder(users=users_schema(
        ID_ONLY, "filters:\n  - {column: archived, op: eq, value: false}\nsoft_delete: {column: deleted_at}\n"
    ))
    assert page_keys(b, None, ("4",)) == [("1",)]


def test_a_page_of_a_composite_key_spans_the_key_order(pg: psycopg.Connection, builder: Builder) -> None:
    pg.execute("CREATE TABLE pair (a int, b text, total int, PRIMARY KEY (a, b))")
    pg.execute("INSERT INTO pair SELECT i % 12, 'k' || i, i FROM generate_series(1, 300) i")
    b = builder(pair="version: 1\ntable: pair\nprimary_key: [a, b]\nfields:\n  - integer: total\n    required: true\n")

    documents = b.build_page("pair", ("9", "k105"), ("10", "k190"), version=1)

    expected = pg.execute(
        "SELECT a::text, b FROM pair WHERE (a, b) > (9, 'k105') AND (a, b) <= (10, 'k190')"
    ).fetchall()
    assert sorted(d.id.key for d in documents) == sorted(expected)
    assert {orjson.loads(d.body)["total"] for d in documents if d.id.key == ("10", "k190")} == {190}


@pytest.mark.parametrize("key_type", list(KEY_VALUES))
def test_a_page_bounded_by_a_key_in_text_form_holds_its_row(pg: psycopg.Connection, builder: Builder, key_type: str) -> None:
    key = parent_and_child(pg, key_type)
    [document] = builder(parent=PARENT_SCHEMA).build_page("parent", None, (key,), version=1)
    assert (document.id.key, orjson.loads(document.body)) == ((key,), {"name": "p", "children": 1})


def test_a_page_is_versioned_at_least_where_the_wal_stood_when_it_was_read(
    store: psycopg.Connection, builder: Builder
) -> None:
    (before,) = store.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()  # type: ignore[misc]
    documents = builder(users=users_schema(ID_ONLY)).build_page("users", None, ("4",), version=1)
    assert min(d.version for d in documents) >= int(before)
