"""B3's timeline: each second of a measured run, its changes' latency beside what the engine, the
node and Postgres were doing at the time (bench/out/b3_timeline_<run>.txt).

A run's p99 is set by a few slow seconds, and one run's p99 swung from 0.21 to 0.83 s between
runs in a row. Percentiles alone cannot say why; this table can: a second whose flushes slowed
while its builds did not is the node's, and the columns beside it say what the node (refresh,
merge, GC) or Postgres (autovacuum) was busy with then. Postgres's CPU is split: the part its
backends serving flusso used (they name themselves `flusso <role>`: the WAL sender decoding the
stream, the document builds), beside the whole, which also holds the load's own statements.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.live import percentile
from bench.node import NodeWork, node_work
from bench.usage import opensearch_seconds, postgres_seconds, process_seconds
from flusso_engine.observer import BatchStats, NullObserver

#: Each sample asks the node for its stats twice and reads Postgres's processes in /proc: a few ms
#: of the node's CPU and about 1 ms of this process's. Once a second keeps that under 1 % of the
#: load it watches; the work of a second is then read between the samples around it (1-2 s).
SAMPLE_SECONDS = 1.0


@dataclass(frozen=True)
class Sample:
    """The counters at one moment: CPU seconds of each party so far (and of each Postgres backend
    serving flusso, by pid), the node's own counters, and the tables autovacuum is working on."""

    at: float
    engine_cpu: float
    postgres_cpu: float
    node_cpu: float
    node: NodeWork
    autovacuum: tuple[str, ...]
    flusso_backends: dict[int, float] = field(default_factory=dict)

    def flusso_cpu_since(self, earlier: Sample) -> float:
        """CPU seconds flusso's backends used since `earlier`: those alive at both moments, so a
        connection opened or closed in between cannot count its whole life."""
        return sum(cpu - earlier.flusso_backends[pid] for pid, cpu in self.flusso_backends.items() if pid in earlier.flusso_backends)


@dataclass(frozen=True)
class Batch:
    flushed_at: float
    changes: int
    build_seconds: float
    flush_seconds: float


class Timeline(NullObserver):
    """Hears the engine's flushed batches and samples the counters every SAMPLE_SECONDS on a
    thread of its own, from `start` to `stop`."""

    def __init__(self, opensearch_url: str, database_url: str, datadir: Path) -> None:
        self._opensearch_url, self._database_url, self._datadir = opensearch_url, database_url, datadir
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="bench-timeline", daemon=True)
        self.samples: list[Sample] = []
        self.batches: list[Batch] = []

    def batch_flushed(self, stats: BatchStats) -> None:
        self.batches.append(Batch(time.time(), stats.changes, stats.build_seconds, stats.flush_seconds))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def _sample_until_stopped(self) -> None:
        with psycopg.connect(self._database_url, autocommit=True) as conn:
            while not self._stopped.wait(SAMPLE_SECONDS):
                rows = conn.execute(
                    "SELECT pid, backend_type = 'autovacuum worker', query FROM pg_stat_activity "
                    "WHERE application_name LIKE 'flusso %' OR (backend_type = 'autovacuum worker' AND query <> '')"
                ).fetchall()
                self.samples.append(Sample(
                    time.time(), time.process_time(), postgres_seconds(self._datadir),
                    opensearch_seconds(self._opensearch_url), node_work(self._opensearch_url),
                    tuple(str(query).removeprefix("autovacuum: ") for _, vacuum, query in rows if vacuum),
                    {pid: process_seconds(pid) for pid, vacuum, _ in rows if not vacuum},
                ))

    def write(self, path: Path, confirmed: Sequence[tuple[float, float]]) -> None:
        """One line per second since the first commit of `confirmed` ((commit time, latency) of
        each change): its changes' latency by commit second, the batches flushed in it, and what
        each party spent in it."""
        if not confirmed:
            path.write_text("no change was confirmed\n")
            return
        start = min(commit for commit, _ in confirmed)
        by_second: dict[int, list[float]] = {}
        for commit, latency in confirmed:
            by_second.setdefault(int(commit - start), []).append(latency)
        lines = [
            "  s | changes   p50   p99   max ms | batches  flush avg/max  build avg/max ms | CPU ms: engine postgres (flusso) node "
            "| node ms: refresh merge GC | autovacuum"
        ]
        for second in sorted(by_second):
            latencies = by_second[second]
            line = (f"{second:3d} | {len(latencies):7,d} {percentile(latencies, 0.5) * 1000:5.0f} "
                    f"{percentile(latencies, 0.99) * 1000:5.0f} {max(latencies) * 1000:5.0f} | ")
            line += self._batches_in(start + second) + " | " + self._spent_in(start + second)
            lines.append(line)
        path.write_text("\n".join(lines) + "\n")

    def _batches_in(self, at: float) -> str:
        batches = [batch for batch in self.batches if at <= batch.flushed_at < at + 1]
        if not batches:
            return f"{0:7d} {'':>14} {'':>14}"
        flush = [batch.flush_seconds * 1000 for batch in batches]
        build = [batch.build_seconds * 1000 for batch in batches]
        return (f"{len(batches):7d} {sum(flush) / len(flush):6.0f}/{max(flush):<7.0f} "
                f"{sum(build) / len(build):6.0f}/{max(build):<7.0f}")

    def _spent_in(self, at: float) -> str:
        """What each party spent between the samples that bound the second starting `at`."""
        before = [sample for sample in self.samples if sample.at <= at]
        after = [sample for sample in self.samples if sample.at >= at + 1]
        if not before or not after:
            return "no samples"
        first, last = before[-1], after[0]
        node = last.node - first.node
        scale = 1000 / (last.at - first.at)
        vacuumed = sorted({table for sample in self.samples if first.at <= sample.at <= last.at for table in sample.autovacuum})
        return (f"{(last.engine_cpu - first.engine_cpu) * scale:14.0f} {(last.postgres_cpu - first.postgres_cpu) * scale:8.0f} "
                f"{last.flusso_cpu_since(first) * scale:8.0f} {(last.node_cpu - first.node_cpu) * scale:4.0f} | "
                f"{node.refresh_ms * scale / 1000:15.0f} "
                f"{node.merge_ms * scale / 1000:5.0f} {node.gc_ms * scale / 1000:2.0f} | {', '.join(vacuumed)}")
