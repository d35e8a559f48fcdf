"""The demo's config (dev/demo) is written in the reference format and must load unchanged."""

from __future__ import annotations

from pathlib import Path

from flusso_engine.schema import load_config

DEMO = Path(__file__).resolve().parents[2] / "dev" / "demo" / "flusso.toml"


def test_demo_config_loads_with_every_index_enabled():
    config = load_config(DEMO, environ={"DATABASE_URL": "postgresql://demo@127.0.0.1:5432/demo"})
    assert [index.name for index in config.enabled_indexes()] == ["users", "orders", "products"]
    assert all(index.mapping["mappings"]["dynamic"] == "strict" for index in config.indexes)
