"""A lost source connection is a transient error, and the builder reconnects on its own."""

from __future__ import annotations

import psycopg
import pytest

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
