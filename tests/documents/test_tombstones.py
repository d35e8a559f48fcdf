"""A document exists only while its root row exists and passes the soft delete and root filters."""

from __future__ import annotations

import psycopg

from flusso_engine.model import DocId
from tests.documents.store import Builder, body, users_schema

ID_ONLY = "  - integer: id\n    required: true\n"


def test_a_missing_root_row_builds_a_tombstone(store: psycopg.Connection, builder: Builder) -> None:
    assert body(builder(users=users_schema(ID_ONLY)), "users", "999") is None


def test_every_requested_key_gets_one_document_with_one_version(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(ID_ONLY))
    documents = b.build("users", [("2",), ("999",), ("1",)], version=42)
    assert sorted((d.id.key, d.is_tombstone) for d in documents) == [(("1",), False), (("2",), False), (("999",), True)]
    assert len({d.version for d in documents}) == 1


def _wal_position(store: psycopg.Connection) -> int:
    return int(store.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0])


def test_the_version_is_at_least_where_the_wal_stood_when_the_rows_were_read(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(ID_ONLY))
    before = _wal_position(store)
    [document] = b.build("users", [("1",)], version=1)
    assert document.version >= before


def test_a_later_build_outranks_an_earlier_one_even_when_asked_for_an_older_version(
    store: psycopg.Connection, builder: Builder
) -> None:
    b = builder(users=users_schema(ID_ONLY))
    replayed = _wal_position(store)  # the LSN of a change a restarted stream redelivers
    store.execute("UPDATE users SET email = 'x' WHERE id = 1")
    [backfilled] = b.build("users", [("1",)], version=_wal_position(store))  # a backfill at a later snapshot
    store.execute("UPDATE users SET email = 'y' WHERE id = 1")
    [rebuilt] = b.build("users", [("1",)], version=replayed)
    assert rebuilt.version > backfilled.version


def test_keys_are_built_in_chunks_beyond_the_chunk_size(store: psycopg.Connection, builder: Builder) -> None:
    store.execute("INSERT INTO users (id) SELECT g FROM generate_series(100, 2599) AS g")
    b = builder(users=users_schema(ID_ONLY))
    documents = b.build("users", [(str(k),) for k in range(100, 2600)], version=1)
    assert all(d.body == f'{{"id":{d.id.key[0]}}}'.encode() for d in documents)


def test_a_soft_deleted_row_builds_a_tombstone(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(ID_ONLY, extra="soft_delete: {column: archived}\n"))
    assert body(b, "users", "2") is None
    assert body(b, "users", "1") == {"id": 1}


def test_any_set_non_boolean_marker_soft_deletes(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(ID_ONLY, extra="soft_delete: {column: deleted_at}\n"))
    assert body(b, "users", "4") is None
    assert body(b, "users", "1") == {"id": 1}


def test_soft_delete_when_limits_it_to_matching_rows(store: psycopg.Connection, builder: Builder) -> None:
    extra = "soft_delete:\n  column: archived\n  when:\n    - {column: status, op: eq, value: banned}\n"
    b = builder(users=users_schema(ID_ONLY, extra=extra))
    assert body(b, "users", "2") is None
    assert body(b, "users", "3") == {"id": 3}


def test_soft_delete_by_field_uses_that_fields_column(store: psycopg.Connection, builder: Builder) -> None:
    fields = ID_ONLY + "  - boolean: isArchived\n    column: archived\n    required: true\n"
    b = builder(users=users_schema(fields, extra="soft_delete: {field: isArchived}\n"))
    assert body(b, "users", "2") is None
    assert body(b, "users", "1") == {"id": 1, "isArchived": False}


def test_a_row_outside_the_root_filters_builds_a_tombstone(store: psycopg.Connection, builder: Builder) -> None:
    extra = "filters:\n  - {column: status, op: eq, value: active}\n  - {column: archived, op: eq, value: false}\n"
    b = builder(users=users_schema(ID_ONLY, extra=extra))
    assert [body(b, "users", k) for k in ("1", "2", "3")] == [{"id": 1}, None, None]


def test_leaving_the_root_filters_turns_the_document_into_a_tombstone(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(ID_ONLY, extra="filters:\n  - {column: status, op: eq, value: active}\n"))
    store.execute("UPDATE users SET status = 'banned' WHERE id = 1")
    assert body(b, "users", "1") is None


def test_an_update_of_a_non_key_column_builds_an_upsert(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - keyword: email\n    required: true\n"))
    store.execute("UPDATE users SET email = 'new@x.io' WHERE id = 2")
    [document] = b.build("users", [("2",)], version=7)
    assert (document.id, document.body) == (DocId("users", ("2",)), b'{"email":"new@x.io"}')


def test_a_dense_chunk_returns_only_the_requested_keys(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(ID_ONLY))
    documents = b.build("users", [("1",), ("2",), ("4",), ("5",)], version=1)
    assert [d.body for d in documents] == [b'{"id":1}', b'{"id":2}', b'{"id":4}', None]


def test_document_count_counts_exactly_the_rows_that_build_to_a_body(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(ID_ONLY, extra="soft_delete: {column: archived}\n"))
    keys = [(str(key),) for (key,) in store.execute("SELECT id FROM users").fetchall()]
    bodies = [document for document in b.build("users", keys, 0) if document.body is not None]
    assert b.document_count("users") == len(bodies)


def test_a_build_streamed_in_several_hand_overs_gets_one_document_per_requested_key(
    store: psycopg.Connection, builder: Builder
) -> None:
    store.execute("INSERT INTO users (id, email) SELECT g, 'u' || g FROM generate_series(100, 2599) AS g WHERE g % 7 <> 0")
    wanted = [(str(k),) for k in range(100, 2600) if k != 1500]  # 1500 is in the key range, but not asked for
    documents = builder(users=users_schema(ID_ONLY)).build("users", wanted, version=42)
    assert sorted(d.id.key for d in documents) == sorted(wanted)
    assert {d.id.key for d in documents if d.is_tombstone} == {key for key in wanted if int(key[0]) % 7 == 0}
