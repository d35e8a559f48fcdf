"""`flusso reindex NAME`: rebuild one index from scratch while readers keep the old one.

The sink starts a new generation, the engine backfills it like a first seed, and the sink
promotes it when it is marked seeded, swapping the aliases atomically. No live lock is taken:
a live run keeps following the stream meanwhile, and its sink writes to both generations once
it notices the build (the sink's reindex waits for that), so nothing committed during the
rebuild is missed.
"""

from __future__ import annotations

from flusso_engine.backends import RunOptions, build_engine
from flusso_engine.progress import LogProgress
from flusso_engine.runner import EngineThread
from flusso_engine.schema import Config
from flusso_engine.sinks.forwarding import RebuildSink

TICK_SECONDS = 0.5


def reindex(config: Config, options: RunOptions, name: str, progress: LogProgress) -> None:
    """Rebuild `name` and return once the new generation serves. Interrupted, the half-built
    generation stays unseeded and the next run (or reindex) seeds it again."""
    engine = build_engine(config, options, only=[name], observer=progress, wrap_sink=lambda sink: RebuildSink(sink, [name]))
    worker = EngineThread(engine, live=False).start()
    try:
        while not worker.wait(TICK_SECONDS):
            progress.report_if_due()
    finally:
        worker.stop()
