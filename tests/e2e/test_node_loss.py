"""A node of a three-node OpenSearch cluster is lost in the middle of a backfill, and stays lost.

The generations being built have no replicas (they load faster), so the documents on the lost
node's shards are gone. `flusso run` must still end with every document present: its flush fails,
the run restarts, the red generations are given up and built again on the two nodes left.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from opensearchpy import OpenSearch

from dev.demo.generate import generate
from dev.opensearch import LocalOpenSearch, temporary_cluster
from tests.conftest import write_demo_config
from tests.e2e.test_sync import FlussoProcess, _assert_identical

ROOT_ROWS = 4_000
#: Three shards per generation, so each node holds some; replicas for the meta index and for the
#: generations once seeded; a short client timeout, so OpenSearch gives up on a lost shard soon.
SINK_SETTINGS = 'number_of_replicas = 1\nnumber_of_shards = 3\ntimeout_secs = 10\n'


@pytest.fixture
def three_nodes() -> Iterator[LocalOpenSearch]:
    with temporary_cluster("flusso-node-loss", nodes=3, heap="1500m") as cluster:
        yield cluster


def _config(path: Path, database_url: str, opensearch_url: str, prefix: str) -> Path:
    write_demo_config(path, database_url, opensearch_url, prefix)
    path.write_text(path.read_text().replace("number_of_replicas = 0\n", SINK_SETTINGS, 1))
    return path


def _generations(prefix: str) -> str:
    """Every generation of every index under `prefix`, without the meta index."""
    return f"{prefix}*,-{prefix}flusso_meta"


def _indexed_so_far(client: OpenSearch, prefix: str) -> int:
    stats = client.indices.stats(index=_generations(prefix), metric="indexing")
    return stats["_all"]["primaries"].get("indexing", {}).get("index_total", 0)


def _node_holding_a_shard(client: OpenSearch, prefix: str) -> int:
    """A node other than node 1 (the one flusso talks to) holding a shard of a generation."""
    shards = client.cat.shards(index=_generations(prefix), format="json")
    held = sorted({int(shard["node"].removeprefix("Node ")) for shard in shards} - {1})
    assert held, shards
    return held[0]


def test_a_backfill_that_loses_a_node_ends_with_every_document(
    tmp_path: Path, pg_database_url: str, three_nodes: LocalOpenSearch, index_prefix: str, slot_name: str
) -> None:
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        generate(conn, size=ROOT_ROWS)
    config = _config(tmp_path / "flusso.toml", pg_database_url, three_nodes.url, index_prefix)
    client = OpenSearch(hosts=[three_nodes.url], timeout=30)
    run = FlussoProcess(config, slot_name, tmp_path / "flusso.log")
    try:
        run.start("--until-caught-up")
        run.wait_for("backfill started")
        while _indexed_so_far(client, index_prefix) == 0:
            assert run.process is not None and run.process.poll() is None, run.log.read_text()[-3000:]
            time.sleep(0.05)
        lost = _node_holding_a_shard(client, index_prefix)
        three_nodes.stop_node(lost)

        assert run.process is not None and run.process.wait(180) == 0, run.log.read_text()[-3000:]

        _assert_identical(config, client, index_prefix)
        serving = set(client.indices.get_alias(index=_generations(index_prefix)))
        assert any(not index.endswith("_1") for index in serving), f"no build was lost, so the test proves nothing: {serving}"
    finally:
        if run.process is not None and run.process.poll() is None:
            run.kill()
        client.close()
