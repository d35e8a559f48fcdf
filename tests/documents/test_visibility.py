"""The builder reads rows for a live change only once the change's transaction is visible."""

from __future__ import annotations

import psycopg
import pytest

from flusso_engine.documents import visibility
from flusso_engine.documents.source import SourceConnection
from flusso_engine.errors import BuildError


def _xid(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT pg_current_xact_id()::text::bigint % 4294967296").fetchone()
    assert row is not None
    return int(row[0])


def test_a_committed_transaction_is_waited_for_not_at_all(pg_database_url: str) -> None:
    source = SourceConnection(pg_database_url)
    try:
        with psycopg.connect(pg_database_url) as conn:
            xid = _xid(conn)
            conn.commit()
        visibility.await_visible(source, {xid})
    finally:
        source.close()


def test_a_transaction_not_yet_visible_is_waited_for_then_retried(pg_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(visibility, "WAIT_SECONDS", 0.2)
    source = SourceConnection(pg_database_url)
    try:
        with psycopg.connect(pg_database_url) as conn:
            with pytest.raises(BuildError) as failure:
                visibility.await_visible(source, {_xid(conn)})
            assert failure.value.transient
    finally:
        source.close()
