"""The code location `dagster dev` loads from workspace.yaml: `defs`, built from a flusso.toml.

The config path comes from FLUSSO_CONFIG, defaulting to the demo's. Use `build_definitions` with
your own path and translator to embed flusso in another code location.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from flusso_engine.backends import tables_read
from flusso_engine.schema import load_indexes
from flusso_dagster.assets import build_index_assets
from flusso_dagster.checks import build_index_checks
from flusso_dagster.guard import build_live_guard
from flusso_dagster.live import build_live_job
from flusso_dagster.resources import FlussoResource, OpenSearchResource, PostgresResource
from flusso_dagster.schedules import build_reseed_schedules
from flusso_dagster.translator import FlussoTranslator

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "dev" / "demo" / "flusso.toml"


def build_definitions(config_path: str | Path, translator: FlussoTranslator | None = None) -> dg.Definitions:
    translator = translator or FlussoTranslator()
    indexes = tuple(index for index in load_indexes(config_path) if index.enabled)
    live_job = build_live_job(translator)
    flusso = FlussoResource(
        config_path=str(config_path),
        postgres=PostgresResource(url=dg.EnvVar("DATABASE_URL")) if "DATABASE_URL" in os.environ else PostgresResource(),
        opensearch=OpenSearchResource(),
        slot=os.environ.get("FLUSSO_SLOT", "flusso"),
        publication=os.environ.get("FLUSSO_PUBLICATION", "flusso"),
        index_prefix=os.environ.get("FLUSSO_INDEX_PREFIX") or None,
    )
    return dg.Definitions(
        assets=[
            *build_index_assets(indexes, translator),
            *(translator.get_table_spec(table) for table in sorted(tables_read(indexes))),
        ],
        asset_checks=build_index_checks(indexes, translator),
        jobs=[live_job],
        sensors=[build_live_guard(live_job)],
        schedules=build_reseed_schedules(indexes, translator),
        resources={"flusso": flusso},
    )


defs = build_definitions(os.environ.get("FLUSSO_CONFIG", str(DEMO_CONFIG)))
