"""Materializing an index asset against real Postgres and OpenSearch: seed, skip, reseed, lose."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from opensearchpy import OpenSearch

from flusso_dagster.assets import build_index_assets
from flusso_dagster.resources import FlussoResource, OpenSearchResource, PostgresResource
from flusso_dagster.seeding import index_exists, seeded_in_metadata
from flusso_dagster.translator import FlussoTranslator
from flusso_engine.schema import load_indexes

USERS = dg.AssetKey(["opensearch", "users"])


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _materialize(instance: dg.DagsterInstance, config: Path, slot: str, reseed: bool = False) -> dict:
    users = [index for index in load_indexes(config) if index.name == "users"]
    result = dg.materialize(
        build_index_assets(users, FlussoTranslator()),
        resources={"flusso": FlussoResource(config_path=str(config), postgres=PostgresResource(), opensearch=OpenSearchResource(), slot=slot)},
        instance=instance,
        run_config={"ops": {"seed_users": {"config": {"reseed": reseed}}}},
    )
    assert result.success
    return {k: v.value for k, v in result.asset_materializations_for_node("seed_users")[0].metadata.items()}


def _live_users(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM users WHERE NOT archived").fetchone()[0]


def test_materializing_seeds_the_index_and_records_is_seeded(
    instance: dg.DagsterInstance, demo_config: Path, demo_store_url: str, slot_name: str
) -> None:
    metadata = _materialize(instance, demo_config, slot_name)
    assert metadata["is_seeded"] is True
    # An archived user is no document, and a backfill has none of theirs to delete.
    assert metadata["doc_count"] == _live_users(demo_store_url) == metadata["documents_written"]
    assert len(metadata["sample"].records) == 5


def test_a_second_materialization_without_reseed_writes_nothing(
    instance: dg.DagsterInstance, demo_config: Path, slot_name: str
) -> None:
    _materialize(instance, demo_config, slot_name)
    again = _materialize(instance, demo_config, slot_name)
    assert again["documents_written"] == 0 and again["is_seeded"] is True


def test_reseed_swaps_to_a_new_generation(instance: dg.DagsterInstance, demo_config: Path, slot_name: str) -> None:
    first = _materialize(instance, demo_config, slot_name)
    second = _materialize(instance, demo_config, slot_name, reseed=True)
    assert second["generation"] > first["generation"]
    assert second["physical_index"] != first["physical_index"]
    assert second["doc_count"] == first["doc_count"]


def test_deleting_the_opensearch_index_makes_it_unseeded(
    instance: dg.DagsterInstance, demo_config: Path, slot_name: str, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    metadata = _materialize(instance, demo_config, slot_name)
    opensearch_client.indices.delete(index=metadata["physical_index"])
    alias = f"{index_prefix}users"
    assert seeded_in_metadata(instance, USERS, load_indexes(demo_config)[0].content_hash)
    assert not (seeded_in_metadata(instance, USERS, load_indexes(demo_config)[0].content_hash) and index_exists(opensearch_client, alias))
