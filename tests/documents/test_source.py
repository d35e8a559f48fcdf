"""The builder's source connection: a lost connection is a transient error and the builder
reconnects on its own; a composed statement is rendered once per connection; nothing is JIT-compiled,
and index probes are priced for cached pages."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql
from psycopg.abc import AdaptContext

from flusso_engine.documents.source import SourceConnection
from flusso_engine.errors import BuildError
from tests.documents.store import Builder, body, users_schema


def test_a_lost_connection_fails_transiently_then_recovers(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - integer: id\n    required: true\n"))
    assert body(b, "users", "1") == {"id": 1}
    store.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    with pytest.raises(BuildError) as failure:
        b.build("users", [("1",)], version=1)
    assert failure.value.transient
    assert body(b, "users", "1") == {"id": 1}


def test_a_failing_query_is_a_permanent_build_error(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - integer: id\n    required: true\n"))
    with pytest.raises(BuildError) as failure:
        b.build("users", [("not-a-number",)], version=1)
    assert not failure.value.transient


class _CountedRenders(sql.Composed):
    """A statement that counts how often it is rendered."""

    renders = 0

    def as_bytes(self, context: AdaptContext | None = None) -> bytes:
        _CountedRenders.renders += 1
        return super().as_bytes(context)


def test_a_statement_is_rendered_once_per_connection(pg_database_url: str) -> None:
    source = SourceConnection(pg_database_url)
    statement = _CountedRenders([sql.SQL("SELECT "), sql.Placeholder(), sql.SQL("::int + 1")])
    _CountedRenders.renders = 0
    try:
        assert [source.rows(statement, [n])[0][0] for n in (1, 2, 3)] == [2, 3, 4]
        assert _CountedRenders.renders == 1
        source.close()
        assert source.rows(statement, [4]) == [(5,)]
        assert _CountedRenders.renders == 2
    finally:
        source.close()


@pytest.mark.parametrize(
    ("setting", "value"),
    [("jit", "off"), ("random_page_cost", "1.1")],
    ids=["without_jit_compilation", "with_index_probes_priced_for_cached_pages"],
)
def test_document_statements_run(setting: str, value: str, pg_database_url: str) -> None:
    source = SourceConnection(pg_database_url)
    try:
        assert source.rows(sql.SQL("SHOW {}").format(sql.Identifier(setting))) == [(value,)]
    finally:
        source.close()
