"""Backfill progress counts documents written, so its total is the documents an index should hold."""

from __future__ import annotations

from pathlib import Path

import psycopg

from flusso_engine.backfill_totals import backfill_totals, document_totals
from flusso_engine.schema import load_config
from tests.conftest import write_demo_config


def test_a_backfill_total_counts_only_the_root_rows_that_are_documents(demo_config: Path, demo_store_url: str) -> None:
    with psycopg.connect(demo_store_url) as conn:
        (archived,) = conn.execute("SELECT count(*) FROM users WHERE archived").fetchone()  # type: ignore[misc]
        (kept,) = conn.execute("SELECT count(*) FROM users WHERE NOT archived").fetchone()  # type: ignore[misc]

    assert archived > 0
    assert document_totals(load_config(demo_config), ["users"]) == {"users": kept}


def test_a_total_that_cannot_be_counted_only_leaves_the_eta_out(tmp_path: Path, opensearch_url: str) -> None:
    unreachable = write_demo_config(tmp_path / "flusso.toml", "postgresql://postgres@127.0.0.1:1/none", opensearch_url, "t_")
    assert backfill_totals(load_config(unreachable))(["users"]) == {}
