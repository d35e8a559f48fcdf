"""Faults a live run must survive or stop on cleanly: an OpenSearch outage, a poison document."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from opensearchpy import OpenSearch

from dev.demo.generate import generate
from dev.home import free_port
from dev.opensearch import LocalOpenSearch
from flusso_engine.capture.slot import parse_lsn
from tests.cli.support import flusso
from tests.e2e.faults import confirmed, fault_config
from tests.e2e.test_sync import FlussoProcess, _assert_identical, _load_in_background

POISON = "UPDATE users SET email = repeat('x', 40000) WHERE id = 1"  # a keyword term over Lucene's 32766-byte limit


@pytest.fixture
def own_opensearch() -> Iterator[LocalOpenSearch]:
    """A node of this test's own: it is stopped mid-run, which the shared node must never be."""
    base = Path(tempfile.mkdtemp(prefix="flusso-faults-os-"))
    node = LocalOpenSearch(base=base, base_port=free_port(9210, 9290, span=2), heap="512m", cluster_name=f"flusso-faults-{os.getpid()}")
    node.start()
    try:
        yield node
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_30s_opensearch_outage_during_a_live_load_is_ridden_out(
    tmp_path: Path, pg_database_url: str, own_opensearch: LocalOpenSearch, index_prefix: str, slot_name: str
) -> None:
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        generate(conn, size=1000)
    config = fault_config(tmp_path / "flusso.toml", pg_database_url, own_opensearch.url, index_prefix)
    run = FlussoProcess(config, slot_name, tmp_path / "flusso.log")
    run.start()
    try:
        run.wait_for("following live changes")
        load = _load_in_background(pg_database_url, seconds=45)
        time.sleep(5)
        own_opensearch.stop()
        time.sleep(30)
        own_opensearch.start()
        load.join()
        assert run.process is not None and run.process.poll() is None, run.log.read_text()[-3000:]
        assert run.stop() == 0
    finally:
        if run.process is not None and run.process.poll() is None:
            run.kill()
    run.catch_up()
    client = OpenSearch(hosts=[own_opensearch.url], timeout=30)
    try:
        _assert_identical(config, client, index_prefix)
    finally:
        client.close()


def _seed(config: Path, slot: str) -> None:
    done = flusso("run", "--config", str(config), "--slot", slot, "--until-caught-up", "--status-address", "0")
    assert done.returncode == 0, done.stderr


def test_a_poison_document_under_skip_is_quarantined_and_the_rest_lands(
    tmp_path: Path, demo_store_url: str, opensearch_url: str, opensearch_client: OpenSearch, index_prefix: str, slot_name: str
) -> None:
    config = fault_config(tmp_path / "flusso.toml", demo_store_url, opensearch_url, index_prefix, top='on_error = "skip"\n')
    _seed(config, slot_name)
    with psycopg.connect(demo_store_url, autocommit=True) as conn:
        conn.execute(POISON)
        conn.execute("UPDATE users SET name = 'after the poison' WHERE id = 2")

    done = flusso("run", "--config", str(config), "--slot", slot_name, "--until-caught-up", "--status-address", "0")

    assert done.returncode == 0, done.stderr
    quarantined = [line for line in done.stderr.splitlines() if "document quarantined" in line]
    assert any("index=users id=1 " in line for line in quarantined)  # and orders of user 1, which embed the email
    assert all("immense term" in line for line in quarantined)
    opensearch_client.indices.refresh(index=f"{index_prefix}users")
    assert opensearch_client.get(index=f"{index_prefix}users", id="2")["_source"]["name"] == "after the poison"


def test_a_poison_document_under_stop_stops_the_run_before_its_ack(
    tmp_path: Path, demo_store_url: str, opensearch_url: str, index_prefix: str, slot_name: str
) -> None:
    config = fault_config(tmp_path / "flusso.toml", demo_store_url, opensearch_url, index_prefix, top='on_error = "stop"\n')
    _seed(config, slot_name)
    with psycopg.connect(demo_store_url, autocommit=True) as conn:
        conn.execute(POISON)
        (after_poison,) = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()

    done = flusso("run", "--config", str(config), "--slot", slot_name, "--until-caught-up", "--status-address", "0")

    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("flusso: ") and "immense term" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert confirmed(demo_store_url, slot_name) < parse_lsn(after_poison)
