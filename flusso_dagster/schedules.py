"""Reseed schedules: one per index, off by default, turned on per index in the UI.

A reseed builds a new generation and swaps the alias when it is seeded, so readers never see a
half-built index. The cron comes from FLUSSO_RESEED_CRON (default: daily at 03:00 UTC).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg

from flusso_engine.schema import Index
from flusso_dagster.assets import SeedConfig, seed_op_name
from flusso_dagster.translator import FlussoTranslator

DEFAULT_CRON = "0 3 * * *"


def build_reseed_schedules(indexes: Sequence[Index], translator: FlussoTranslator) -> list[dg.ScheduleDefinition]:
    cron = os.environ.get("FLUSSO_RESEED_CRON", DEFAULT_CRON)
    return [
        dg.ScheduleDefinition(
            name=f"reseed_{index.name}",
            target=dg.AssetSelection.assets(translator.get_index_key(index)),
            cron_schedule=cron,
            execution_timezone="UTC",
            run_config=dg.RunConfig(ops={seed_op_name(index): SeedConfig(reseed=True)}),
            tags={"flusso/trigger": "reseed-schedule"},
            default_status=dg.DefaultScheduleStatus.STOPPED,
            description=f"Rebuild `{index.name}` from scratch as a new generation, without read downtime.",
        )
        for index in indexes
    ]
