"""`flusso indexes` reports what OpenSearch serves; `flusso reindex` swaps in a rebuilt generation."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import psycopg
from opensearchpy import OpenSearch

from tests.cli.support import eventually, flusso, start_flusso


def _indexes(config: Path, slot: str) -> dict[str, dict]:
    done = flusso("indexes", "--config", str(config), "--slot", slot, "--format", "json")
    assert done.returncode == 0, done.stderr
    return {report["name"]: report for report in json.loads(done.stdout)["indexes"]}


def _seed(config: Path, slot: str) -> None:
    done = flusso("run", "--config", str(config), "--slot", slot, "--until-caught-up", "--status-address", "0")
    assert done.returncode == 0, done.stderr


def test_indexes_shows_a_seeded_index_with_its_count(
    demo_config: Path, slot_name: str, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    _seed(demo_config, slot_name)
    users = _indexes(demo_config, slot_name)["users"]
    assert users["seeded"] and users["building"] is None
    assert users["serving"].endswith("_1") and users["documents"] == opensearch_client.count(index=f"{index_prefix}users")["count"] > 0
    human = flusso("indexes", "--config", str(demo_config), "--slot", slot_name)
    row = next(line for line in human.stdout.splitlines() if line.startswith("users "))
    assert row.split() == ["users", users["alias"], users["serving"], "-", "yes", f"{users['documents']:,}"]
    assert f"slot {slot_name}: " in human.stdout


def test_reindex_swaps_to_a_new_generation_with_the_same_documents(
    demo_config: Path, slot_name: str, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    _seed(demo_config, slot_name)
    before = _indexes(demo_config, slot_name)["users"]

    done = flusso("reindex", "users", "--config", str(demo_config), "--slot", slot_name)

    assert done.returncode == 0, done.stderr
    after = _indexes(demo_config, slot_name)["users"]
    assert after["seeded"] and after["serving"] != before["serving"] and after["serving"].endswith("_2")
    assert after["documents"] == before["documents"]
    assert not opensearch_client.indices.exists(index=before["serving"])
    assert list(opensearch_client.indices.get_alias(name=f"{index_prefix}users")) == [after["serving"]]


def test_reindex_works_next_to_a_live_run_which_keeps_writing_to_the_new_generation(
    tmp_path: Path, demo_config: Path, demo_store_url: str, slot_name: str, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    log = tmp_path / "run.log"
    live = start_flusso("run", "--config", str(demo_config), "--slot", slot_name, "--status-address", "0", log=log)
    try:
        eventually(lambda: b"following live changes" in log.read_bytes(), what="the live run following changes")

        done = flusso("reindex", "users", "--config", str(demo_config), "--slot", slot_name)

        assert done.returncode == 0, done.stderr
        with psycopg.connect(demo_store_url, autocommit=True) as conn:
            conn.execute("UPDATE users SET name = 'after the reindex' WHERE id = 1")
        alias = f"{index_prefix}users"
        eventually(lambda: opensearch_client.get(index=alias, id="1")["_source"]["name"] == "after the reindex",
                   what="the live run's write in the new generation")
        assert list(opensearch_client.indices.get_alias(name=alias))[0].endswith("_2")
    finally:
        live.send_signal(signal.SIGTERM)
        assert live.wait(60) == 0, log.read_text()
