"""The live job against real Postgres and OpenSearch: changes flow, a restart loses nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from opensearchpy import OpenSearch

from flusso_dagster.live import LIVE_JOB, build_live_job
from flusso_dagster.resources import FlussoResource, OpenSearchResource, PostgresResource
from flusso_dagster.translator import FlussoTranslator
from flusso_engine.runlock import LiveRunLock


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _run_live(instance: dg.DagsterInstance, config: Path, slot: str, seconds: float, during=None) -> dg.ExecuteInProcessResult:  # noqa: ANN001
    job = build_live_job(FlussoTranslator())
    resources = {"flusso": FlussoResource(config_path=str(config), postgres=PostgresResource(), opensearch=OpenSearchResource(), slot=slot)}
    worker = threading.Thread(target=during) if during else None
    if worker:
        worker.start()
    result = job.execute_in_process(
        instance=instance, resources=resources,
        run_config={"ops": {"flusso_live": {"config": {"max_runtime_s": seconds, "progress_interval_s": 1.0}}}},
    )
    if worker:
        worker.join()
    return result


def _insert_users(url: str, first_id: int, count: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for n in range(first_id, first_id + count):
            conn.execute(
                "INSERT INTO users (id, public_id, email, name, created_at) VALUES (%s, gen_random_uuid(), %s, %s, now())",
                (n, f"USER{n}@EXAMPLE.COM ", f"user {n}"),
            )


def _user_ids(client: OpenSearch, prefix: str) -> set[int]:
    client.indices.refresh(index=f"{prefix}users")
    hits = client.search(index=f"{prefix}users", body={"size": 10000, "_source": False, "query": {"range": {"id": {"gte": 900000}}}})
    return {int(hit["_id"]) for hit in hits["hits"]["hits"]}


def test_live_job_seeds_unseeded_indexes_and_records_them_as_materializations(
    instance: dg.DagsterInstance, demo_config: Path, slot_name: str
) -> None:
    result = _run_live(instance, demo_config, slot_name, seconds=8)
    assert result.success
    seeded = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert seeded == {"users", "orders", "products"}
    assert result.dagster_run.job_name == LIVE_JOB


def test_changes_made_while_live_appear_and_a_restart_loses_nothing(
    instance: dg.DagsterInstance, demo_config: Path, demo_store_url: str, slot_name: str,
    opensearch_client: OpenSearch, index_prefix: str,
) -> None:
    def write_during_run() -> None:
        time.sleep(4)
        _insert_users(demo_store_url, 900000, 20)

    assert _run_live(instance, demo_config, slot_name, seconds=10, during=write_during_run).success
    assert _user_ids(opensearch_client, index_prefix) == set(range(900000, 900020))

    _insert_users(demo_store_url, 900020, 20)  # while no live run is up
    assert _run_live(instance, demo_config, slot_name, seconds=6).success
    assert _user_ids(opensearch_client, index_prefix) == set(range(900000, 900040))


def test_a_second_live_run_on_the_same_slot_is_refused(
    instance: dg.DagsterInstance, demo_config: Path, demo_store_url: str, slot_name: str
) -> None:
    with LiveRunLock(demo_store_url, slot_name):
        job = build_live_job(FlussoTranslator())
        result = job.execute_in_process(
            instance=instance, raise_on_error=False,
            resources={"flusso": FlussoResource(config_path=str(demo_config), postgres=PostgresResource(), opensearch=OpenSearchResource(), slot=slot_name)},
            run_config={"ops": {"flusso_live": {"config": {"max_runtime_s": 2}}}},
        )
    assert not result.success
    assert "another live run already follows slot" in result.failure_data_for_node("flusso_live").error.to_string()


def test_live_job_observes_each_index_with_its_lag_and_documents_left_to_rebuild(
    instance: dg.DagsterInstance, demo_config: Path, slot_name: str
) -> None:
    result = _run_live(instance, demo_config, slot_name, seconds=6)

    observations = [event.event_specific_data.asset_observation for event in result.all_events if event.is_asset_observation]
    assert {observation.asset_key.path[-1] for observation in observations} == {"users", "orders", "products"}
    metadata = observations[-1].metadata
    assert metadata["rebuild_pending_documents"].value == 0
    assert {"documents_written", "lag_bytes", "lag_seconds", "last_lsn"} <= metadata.keys()
