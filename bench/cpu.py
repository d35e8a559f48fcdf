"""B6: the engine's own CPU per change, with the real capture and builder and a sink that discards.

Counted: everything this process spends (time.process_time, all threads) from the moment the
changes are committed until the engine has confirmed them: pgoutput decoding, transaction
assembly, the queue, batching, resolve, build (the query round trip and reading its JSON), acks.
Not counted: the Postgres server's work (WAL decoding in the walsender, running the build
query) and any sink. The baseline is the builder alone building the same documents, in batches
of the same size, in the same process: what remains above it is capture + engine.

The changes are made by key ranges (two parameters a statement), so the harness itself spends
next to nothing in the window it measures; and the CPU is also read per thread (bench/usage.py),
so the note says which thread each microsecond went to.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.engine_overhead import NullSink
from bench.stack import Stack, write_config
from bench.usage import ThreadCpu, by_thread
from flusso_engine.backends import RunOptions, build_builder, build_engine, selected_indexes
from flusso_engine.observer import BatchStats, NullObserver
from flusso_engine.runner import EngineThread
from flusso_engine.schema import load_config
from flusso_engine.sinks.protocol import Sink

ROWS_PER_UPDATE = 1000


class Confirmed(NullObserver):
    def __init__(self, expected: int) -> None:
        self.changes = 0
        self.expected = expected
        self.done = threading.Event()

    def batch_flushed(self, stats: BatchStats) -> None:
        self.changes += stats.changes
        if self.changes >= self.expected:
            self.done.set()


def discarding(sink: Sink) -> Sink:
    sink.close()  # the configured sink is never used
    return NullSink()


@dataclass(frozen=True)
class CpuPerChange:
    engine_us: float
    builder_us: float
    changes: int
    #: µs per change by thread (capture, engine worker, delivery, ...), from the same window.
    threads_us: dict[str, float]

    def breakdown(self) -> str:
        return by_thread(self.threads_us)


def cpu_per_change(stack: Stack, database_url: str, schemas: dict[str, Path], workdir: Path, changes: int) -> CpuPerChange:
    slot = f"bench_b6_{uuid.uuid4().hex[:6]}"
    config = load_config(write_config(workdir / "b6.toml", database_url, stack.opensearch_url, f"{slot}_", schemas))
    options = RunOptions(slot=slot, publication=slot, skip_backfill=True)
    with psycopg.connect(database_url, autocommit=True) as conn:
        keys = [(str(key),) for (key,) in conn.execute("SELECT id FROM products ORDER BY id LIMIT %s", (changes,))]
    # Each range holds exactly the ROWS_PER_UPDATE keys it is cut from: the keys are in id order.
    ranges = [(int(keys[first][0]), int(keys[min(first + ROWS_PER_UPDATE, len(keys)) - 1][0]))
              for first in range(0, len(keys), ROWS_PER_UPDATE)]
    confirmed = Confirmed(len(keys))
    worker = EngineThread(build_engine(config, options, observer=confirmed, wrap_sink=discarding)).start()
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            while conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND active", (slot,)).fetchone() is None:
                time.sleep(0.2)
            with ThreadCpu() as threads:
                started = time.process_time()
                for low, high in ranges:
                    conn.execute("UPDATE products SET price = price + 0.01 WHERE id BETWEEN %s AND %s", (low, high))
                if not confirmed.done.wait(300):
                    raise RuntimeError(f"only {confirmed.changes} of {len(keys)} changes confirmed")
                engine = time.process_time() - started
    finally:
        worker.stop()
        stack.drop_slots()
    builder = build_builder(config, selected_indexes(config))
    try:
        (spec,) = builder.indexes()
        batch = options.batch.max_changes
        started = time.process_time()
        for first in range(0, len(keys), batch):
            builder.build(spec.name, keys[first:first + batch], 1)
        alone = time.process_time() - started
    finally:
        builder.close()
    per_change = 1e6 / len(keys)
    return CpuPerChange(engine * per_change, alone * per_change, confirmed.changes,
                        {name: seconds * per_change for name, seconds in threads.seconds().items()})
