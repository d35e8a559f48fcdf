"""The long-running live job: one op that runs the engine's live loop until terminated.

The engine runs on a thread of its own; the op's main thread reports progress at a steady pace
and receives Dagster's termination (an interrupt that only ever lands in the main thread), on
which it stops the engine gracefully: the batch in flight is flushed and confirmed, nothing
unflushed is confirmed, and the edges are closed. A Postgres advisory lock makes a second live
loop on the same slot fail at once.
"""


import time
from collections.abc import Mapping, Sequence

import dagster as dg
from opensearchpy import OpenSearch
from pydantic import Field

from flusso_engine.backends import build_engine
from flusso_engine.capture.position import slot_position
from flusso_engine.capture.slot import format_lsn
from flusso_engine.engine import Engine
from flusso_engine.progress import Progress
from flusso_engine.runlock import LiveRunLock
from flusso_engine.runner import EngineThread
from flusso_engine.schema import Config, Index
from flusso_dagster.assets import index_facts
from flusso_dagster.resources import FlussoResource, opensearch_client
from flusso_dagster.seeding import IS_SEEDED, MAPPING_HASH, MetadataSeededSink, index_exists, seeded_in_metadata
from flusso_dagster.translator import FlussoTranslator

LIVE_JOB = "flusso_live_sync"
LIVE_TAGS = {"flusso/role": "live"}


class LiveConfig(dg.Config):
    seed_unseeded: bool = Field(True, description="Seed unseeded indexes first (recorded as materializations); "
                                "false: leave them out of the live run and say so.")
    progress_interval_s: float = Field(15.0, description="How often progress is reported as events.")
    max_runtime_s: float = Field(0.0, description="Stop after this long (0: run until terminated).")


def run_live(context: dg.OpExecutionContext, config: LiveConfig, flusso: FlussoResource, translator: FlussoTranslator) -> None:
    settings = flusso.load()
    prefix = flusso.prefix(settings)
    client = opensearch_client(settings)
    indexes = {index.name: index for index in settings.enabled_indexes()}
    seeded = {
        name: seeded_in_metadata(context.instance, translator.get_index_key(index), index.content_hash)
        and index_exists(client, f"{prefix}{name}")
        for name, index in indexes.items()
    }
    if not config.seed_unseeded and not all(seeded.values()):
        left_out = sorted(name for name, ok in seeded.items() if not ok)
        context.log.warning(f"not seeded, left out of the live run (materialize them first): {', '.join(left_out)}")
    chosen = [index for name, index in indexes.items() if config.seed_unseeded or seeded[name]]
    run = LiveRun(context, settings, flusso, translator, client, chosen)
    with LiveRunLock(settings.source.url.get_secret_value(), flusso.slot):
        engine = build_engine(
            settings, flusso.options(), only=[index.name for index in chosen], observer=run.progress,
            wrap_sink=lambda sink: MetadataSeededSink(sink, lambda name: seeded[name]),
        )
        run.drive(engine, config)


class LiveRun:
    """The op's side of a live run: drives the engine thread and turns progress into events."""

    def __init__(
        self, context: dg.OpExecutionContext, settings: Config, flusso: FlussoResource,
        translator: FlussoTranslator, client: OpenSearch | None, indexes: Sequence[Index],
    ) -> None:
        self.context = context
        self.settings = settings
        self.flusso = flusso
        self.translator = translator
        self.client = client
        self.indexes = {index.name: index for index in indexes}
        self.progress = Progress()
        self._reported: Mapping[str, int] = {}

    def drive(self, engine: Engine, config: LiveConfig) -> None:
        worker = EngineThread(engine).start()
        deadline = time.monotonic() + config.max_runtime_s if config.max_runtime_s > 0 else None
        try:
            ended = False
            while not ended:
                wait = config.progress_interval_s
                if deadline is not None:
                    wait = min(wait, max(0.05, deadline - time.monotonic()))
                ended = worker.wait(wait)
                self._record_seeded()
                self._report()
                if deadline is not None and time.monotonic() >= deadline:
                    self.context.log.info("max_runtime_s reached: stopping the live run")
                    break
        finally:
            worker.stop()
            self._record_seeded()  # an index seeded just before the stop is still recorded

    def _record_seeded(self) -> None:
        """Indexes the live run seeded become materializations, so `is_seeded` stays in metadata."""
        for name in self.progress.take_seeded():
            index = self.indexes[name]
            self.context.log_event(dg.AssetMaterialization(
                asset_key=self.translator.get_index_key(index),
                metadata={
                    IS_SEEDED: True, MAPPING_HASH: index.content_hash, "seeded_by": "live run",
                    **index_facts(self.client, f"{self.flusso.prefix(self.settings)}{name}"),
                },
            ))

    def _report(self) -> None:
        """One observation per index with its documents written, and the slot's lag."""
        position = slot_position(self.settings.source.url.get_secret_value(), self.flusso.slot)
        _, written, _, latency = self.progress.snapshot()
        rebuilding = self.progress.rebuilding()
        for name, index in self.indexes.items():
            self.context.log_event(dg.AssetObservation(
                asset_key=self.translator.get_index_key(index),
                metadata={
                    "documents_written": dg.MetadataValue.int(written.get(name, 0)),
                    "documents_since_last_report": dg.MetadataValue.int(written.get(name, 0) - self._reported.get(name, 0)),
                    "rebuild_pending_documents": dg.MetadataValue.int(rebuilding.get(name, 0)),
                    "lag_bytes": dg.MetadataValue.int(position.lag_bytes) if position.lag_bytes is not None else "no slot yet",
                    "lag_seconds": dg.MetadataValue.float(round(latency, 3)) if latency is not None else "no changes yet",
                    "last_lsn": format_lsn(position.confirmed) if position.confirmed is not None else "no slot yet",
                },
            ))
        self._reported = written


def build_live_job(translator: FlussoTranslator) -> dg.JobDefinition:
    @dg.op(name="flusso_live", tags={"flusso/role": "live"})
    def flusso_live(context: dg.OpExecutionContext, config: LiveConfig, flusso: FlussoResource) -> None:
        run_live(context, config, flusso, translator)

    @dg.job(name=LIVE_JOB, executor_def=dg.in_process_executor, tags=LIVE_TAGS,
            description="Follows the Postgres WAL and keeps every enabled index in sync; kept alive by a sensor.")
    def live_job() -> None:
        flusso_live()

    return live_job
