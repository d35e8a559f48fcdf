"""Flusso's Postgres connections name themselves, so the database side can tell them apart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from flusso_engine.connection_names import named
from tests.e2e.test_sync import FlussoProcess, write_store


@pytest.fixture
def small_flusso(tmp_path: Path, pg_database_url: str, opensearch_url: str, index_prefix: str,
                 slot_name: str) -> Iterator[FlussoProcess]:
    config = write_store(tmp_path, pg_database_url, opensearch_url, index_prefix, size=300)
    process = FlussoProcess(config, slot_name, tmp_path / "flusso.log")
    yield process
    if process.process is not None and process.process.poll() is None:
        process.kill()


def _application_names(database_url: str) -> set[str]:
    database = conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT application_name FROM pg_stat_activity WHERE datname = %s", (database,)).fetchall()
    return {name for (name,) in rows}


def test_a_live_run_shows_each_of_its_connections_by_what_it_does(small_flusso: FlussoProcess, pg_database_url: str) -> None:
    small_flusso.start()
    small_flusso.wait_for("following live changes")
    wanted = {"flusso stream", "flusso build", "flusso lock"}
    deadline = time.monotonic() + 30
    while not wanted <= (names := _application_names(pg_database_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert wanted <= names
    assert small_flusso.stop() == 0


def test_a_connection_is_named_for_its_role(pg_database_url: str) -> None:
    with psycopg.connect(named(pg_database_url, "build")) as conn:
        assert conn.execute("SHOW application_name").fetchone() == ("flusso build",)


def test_an_application_name_the_user_set_wins(pg_database_url: str) -> None:
    own = make_conninfo(pg_database_url, application_name="inventory-sync")
    with psycopg.connect(named(own, "build")) as conn:
        assert conn.execute("SHOW application_name").fetchone() == ("inventory-sync",)
