"""Shared fixtures for the config and index-schema tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from flusso_engine.schema import Config, load_config

VALID = Path(__file__).parent / "fixtures" / "valid"
#: The environment the valid fixture config reads its `{ env = ... }` secrets from.
FIXTURE_ENV = {"FIXTURE_PG_PASSWORD": "pg s3cret/@", "FIXTURE_OS_PASSWORD": "os-s3cret"}


@pytest.fixture(scope="session")
def fixture_config() -> Config:
    return load_config(VALID / "flusso.toml", environ=FIXTURE_ENV)


@pytest.fixture(scope="session")
def properties(fixture_config: Config) -> dict[str, dict]:
    """Each fixture index's mapping properties, by index name."""
    return {index.name: index.mapping["mappings"]["properties"] for index in fixture_config.indexes}
