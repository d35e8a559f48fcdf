"""The code location built from a flusso.toml: what Dagster shows for each index."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from flusso_dagster.definitions import build_definitions
from flusso_dagster.translator import FlussoTranslator


def _graph(config: Path, translator: FlussoTranslator | None = None) -> dg.Definitions:
    return build_definitions(config, translator)


def test_each_enabled_index_is_an_asset_in_the_search_group(demo_config: Path) -> None:
    graph = _graph(demo_config).resolve_asset_graph()
    node = graph.get(dg.AssetKey(["opensearch", "orders"]))
    assert node.group_name == "search_indexes"
    assert {"opensearch", "postgres"} <= set(node.kinds)
    assert node.tags["flusso/index"] == "orders"


def test_index_assets_depend_on_every_table_they_read(demo_config: Path) -> None:
    graph = _graph(demo_config).resolve_asset_graph()
    deps = {key.to_user_string() for key in graph.get(dg.AssetKey(["opensearch", "orders"])).parent_keys}
    assert deps == {"postgres/public/orders", "postgres/public/order_items", "postgres/public/users", "postgres/public/products"}


def test_source_tables_are_non_executable_assets(demo_config: Path) -> None:
    graph = _graph(demo_config).resolve_asset_graph()
    assert not graph.get(dg.AssetKey(["postgres", "public", "order_items"])).is_executable


def test_a_subclassed_translator_changes_keys_and_groups(demo_config: Path) -> None:
    class Renamed(FlussoTranslator):
        def get_index_key(self, index):  # noqa: ANN001, ANN201
            return dg.AssetKey(["search", index.name])

    graph = _graph(demo_config, Renamed(index_group="search")).resolve_asset_graph()
    assert graph.get(dg.AssetKey(["search", "users"])).group_name == "search"


def test_the_live_guard_runs_by_default_and_reseed_schedules_do_not(demo_config: Path) -> None:
    defs = _graph(demo_config)
    assert defs.resolve_sensor_def("flusso_live_guard").default_status == dg.DefaultSensorStatus.RUNNING
    schedules = {s.name: s for s in defs.schedules}
    assert set(schedules) == {"reseed_users", "reseed_orders", "reseed_products"}
    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in schedules.values())


def test_the_reseed_schedule_asks_for_a_reseed_of_its_index(demo_config: Path) -> None:
    defs = _graph(demo_config)
    schedule = next(s for s in defs.schedules if s.name == "reseed_orders")
    with dg.instance_for_test() as instance:
        request = schedule.evaluate_tick(dg.build_schedule_context(instance=instance)).run_requests[0]
    assert request.run_config["ops"]["seed_orders"]["config"]["reseed"] is True
