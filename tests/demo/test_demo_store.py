"""The demo store: its generator builds the schema and the rows asked for, its load keeps it changing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import LiteralString

import psycopg
import pytest
from psycopg import sql

from dev.demo import generate as generate_cli
from dev.demo import load as load_cli
from dev.demo.generate import Sizes, generate
from dev.demo.load import EVEN_MIX, KINDS, run_load
from dev.demo.store import TABLES, StoreExists
from flusso_engine.backends import build_builder
from flusso_engine.schema.config import Config
from flusso_engine.schema.loader import load_config

SIZE = 300
CHILD_TABLES = ("addresses", "order_items", "product_tags", "profiles")
DEMO_CONFIG = Path(generate_cli.__file__).with_name("flusso.toml")


@pytest.fixture
def conn(pg_database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def store(conn: psycopg.Connection) -> psycopg.Connection:
    generate(conn, SIZE, seed=7)
    return conn


def _count(conn: psycopg.Connection, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    assert row is not None
    return int(row[0])


def _fingerprint(conn: psycopg.Connection) -> dict[str, str]:
    """Every table's rows, hashed in key order: equal fingerprints mean equal contents."""
    prints = {}
    for table in TABLES:
        query = sql.SQL("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} AS t").format(
            sql.Identifier(table)
        )
        row = conn.execute(query).fetchone()
        assert row is not None
        prints[table] = row[0]
    return prints


def test_generate_creates_the_root_rows_the_size_asks_for(store: psycopg.Connection) -> None:
    sizes = Sizes.for_size(SIZE)
    assert _count(store, "products") == sizes.products == SIZE
    assert _count(store, "orders") == sizes.orders == SIZE
    assert _count(store, "users") == sizes.users == SIZE // 2
    assert _count(store, "categories") == sizes.categories
    assert _count(store, "tags") == sizes.tags


def test_generate_gives_orders_about_three_items_each(store: psycopg.Connection) -> None:
    items = _count(store, "order_items")
    assert 2.5 * SIZE < items < 3.5 * SIZE


def test_generate_reports_the_rows_it_wrote_to_every_table(conn: psycopg.Connection) -> None:
    report = generate(conn, SIZE, seed=7)
    assert {t.table: t.rows for t in report.tables} == {table: _count(conn, table) for table in TABLES}
    assert all(_count(conn, table) > 0 for table in TABLES)


def test_generate_refuses_to_replace_an_existing_store_without_reset(store: psycopg.Connection) -> None:
    with pytest.raises(StoreExists, match="--reset"):
        generate(store, SIZE, seed=7)


def test_generate_with_reset_rebuilds_the_same_rows(store: psycopg.Connection) -> None:
    before = _fingerprint(store)
    generate(store, SIZE, seed=7, reset=True)
    assert _fingerprint(store) == before


def test_generate_with_another_seed_makes_other_rows(store: psycopg.Connection) -> None:
    before = _fingerprint(store)
    generate(store, SIZE, seed=8, reset=True)
    assert _fingerprint(store)["orders"] != before["orders"]


def test_child_tables_carry_their_old_rows_in_the_wal(store: psycopg.Connection) -> None:
    rows = store.execute(
        "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relreplident = 'f' ORDER BY relname", (list(CHILD_TABLES),)
    ).fetchall()
    assert tuple(name for (name,) in rows) == CHILD_TABLES


def test_every_foreign_key_is_served_by_an_index(store: psycopg.Connection) -> None:
    unindexed = store.execute(
        """
        SELECT c.conrelid::regclass::text, c.conkey
        FROM pg_constraint c
        WHERE c.contype = 'f' AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.conrelid
              AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey
        )
        """
    ).fetchall()
    assert unindexed == []


def test_generate_cli_reports_rows_per_second(pg_database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate_cli.main(["--dsn", pg_database_url, "--size", "50"]) == 0
    assert "rows/s" in capsys.readouterr().out


def test_generate_cli_explains_how_to_replace_a_store(pg_database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    generate_cli.main(["--dsn", pg_database_url, "--size", "50"])
    assert generate_cli.main(["--dsn", pg_database_url, "--size", "50"]) == 2
    assert "pass --reset" in capsys.readouterr().err


def test_load_inserts_updates_and_deletes_on_every_table(store: psycopg.Connection) -> None:
    stats = run_load(store, rate=400, duration=3, seed=1, mix=EVEN_MIX)
    untouched = [(table, kind) for table in TABLES for kind in KINDS if stats.changed[(table, kind)] == 0]
    assert untouched == []


def test_load_changes_orders_and_items_most_and_categories_and_tags_rarely(store: psycopg.Connection) -> None:
    stats = run_load(store, rate=1000, duration=2, seed=5)
    per_table = {table: sum(stats.changed[(table, kind)] + stats.missed[(table, kind)] for kind in KINDS) for table in TABLES}
    assert per_table["orders"] + per_table["order_items"] > stats.statements / 2
    assert per_table["categories"] + per_table["tags"] < stats.statements / 100


def test_load_changes_the_rows_it_counts(store: psycopg.Connection) -> None:
    before = {table: _count(store, table) for table in ("users", "orders", "tags")}
    stats = run_load(store, rate=200, duration=1, seed=2)
    for table, count in before.items():
        inserted, deleted = stats.changed[(table, "insert")], stats.changed[(table, "delete")]
        assert _count(store, table) == count + inserted - deleted, table


def test_load_keeps_the_requested_rate_for_the_duration(store: psycopg.Connection) -> None:
    stats = run_load(store, rate=100, duration=2, seed=3)
    assert stats.statements == 200
    assert 1.95 <= stats.seconds < 2.5


def test_load_spreads_changes_over_the_duration_in_small_transactions(store: psycopg.Connection) -> None:
    stats = run_load(store, rate=50, duration=1, seed=4)
    assert stats.transactions >= 40


def test_load_stops_promptly_when_asked(store: psycopg.Connection) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    stats = run_load(store, rate=50, stop=stop)
    assert time.monotonic() - started < 1.5
    assert stats.statements > 0


def test_load_cli_prints_the_counts(pg_database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    generate_cli.main(["--dsn", pg_database_url, "--size", "50"])
    assert load_cli.main(["--dsn", pg_database_url, "--rate", "100", "--duration", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "inserts" in out and "changes/s" in out


def test_load_cli_explains_a_missing_store(pg_database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert load_cli.main(["--dsn", pg_database_url, "--rate", "10", "--duration", "0.2"]) == 2
    assert "dev.demo.generate" in capsys.readouterr().err


def _demo_config(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Config:
    monkeypatch.setenv("DATABASE_URL", database_url)
    return load_config(DEMO_CONFIG)


def test_demo_config_defines_the_three_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _demo_config(monkeypatch, "postgresql://demo@127.0.0.1:5432/demo")
    assert [index.name for index in config.indexes] == ["users", "orders", "products"]


@pytest.mark.parametrize(
    ("index", "live_rows"),
    [
        ("users", "SELECT id::text FROM users WHERE NOT archived"),
        ("orders", "SELECT id::text FROM orders"),
        ("products", "SELECT id::text FROM products WHERE deleted_at IS NULL"),
    ],
)
def test_demo_index_builds_a_document_for_every_live_row_of_the_store(
    store: psycopg.Connection, pg_database_url: str, monkeypatch: pytest.MonkeyPatch, index: str, live_rows: LiteralString
) -> None:
    config = _demo_config(monkeypatch, pg_database_url)
    root = sql.Identifier(index)
    keys = [(key,) for (key,) in store.execute(sql.SQL("SELECT id::text FROM {}").format(root)).fetchall()]
    builder = build_builder(config, config.indexes)
    try:
        documents = builder.build(index, keys, version=1)
    finally:
        builder.close()
    built = {document.id.key[0] for document in documents if not document.is_tombstone}
    assert built == {key for (key,) in store.execute(live_rows).fetchall()}
