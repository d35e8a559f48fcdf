"""Asset checks compare each index with its source on real Postgres and OpenSearch."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from opensearchpy import OpenSearch

from flusso_dagster.assets import build_index_assets
from flusso_dagster.checks import build_index_checks
from flusso_dagster.resources import FlussoResource, OpenSearchResource, PostgresResource
from flusso_dagster.translator import FlussoTranslator
from flusso_engine.schema import load_indexes


def _evaluate(config: Path, slot: str, materialize: bool = True) -> dict[str, dg.AssetCheckEvaluation]:
    users = [index for index in load_indexes(config) if index.name == "users"]
    translator = FlussoTranslator()
    checks = build_index_checks(users, translator)
    assets = build_index_assets(users, translator)
    resources = {"flusso": FlussoResource(config_path=str(config), postgres=PostgresResource(), opensearch=OpenSearchResource(), slot=slot)}
    with dg.instance_for_test() as instance:
        if materialize:
            assert dg.materialize(assets, resources=resources, instance=instance).success
        result = dg.materialize([*assets, *checks], resources=resources, instance=instance,
                                selection=dg.AssetSelection.checks(*checks))
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


@pytest.fixture
def seeded_checks(demo_config: Path, slot_name: str) -> dict[str, dg.AssetCheckEvaluation]:
    return _evaluate(demo_config, slot_name)


@pytest.mark.parametrize("check", ["document_count", "mapping", "slot_lag", "content_sample"])
def test_a_freshly_seeded_index_passes(seeded_checks: dict[str, dg.AssetCheckEvaluation], check: str) -> None:
    assert seeded_checks[check].passed, seeded_checks[check].metadata


def test_a_document_missing_from_opensearch_fails_the_count(
    demo_config: Path, slot_name: str, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    _evaluate(demo_config, slot_name)
    opensearch_client.delete(index=f"{index_prefix}users", id="1", refresh=True)
    evaluation = _evaluate(demo_config, slot_name, materialize=False)["document_count"]
    assert not evaluation.passed and evaluation.metadata["difference"].value == -1
