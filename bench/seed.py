"""One seeding run of one index, in a process of its own: what B1, B2 and B5 measure.

    python -m bench.seed CONFIG SLOT POSTGRES_DATADIR OPENSEARCH_URL [--profile OUT.txt]

Runs exactly what a Dagster materialization runs (build_engine(...).run(live=False)) and prints
one JSON line: documents seeded, the seconds of the whole run and of its backfill, the CPU
seconds of this process, Postgres and OpenSearch over the backfill, the node's own counters
over it, this process's CPU by thread over the whole run, and its peak RSS. A process of its own
so the peak RSS is the engine's alone, not the harness's.

The backfill is timed from `backfill_started` (every index exists, the snapshot is taken) to the
last `index_seeded` (the final refresh done, the generation serving): the same work as a raw
bulk run into an index created before its clock starts, ended by a refresh. Creating indexes,
aliases and the meta index is a fixed cost of a few cluster-state updates (about 0.7 s on a
2-core node, 2026-12-02): at 100k flat documents it would otherwise weigh as much as a tenth of
the rate, at the issue's 1M a hundredth, so the rate would measure table size, not throughput.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson

from bench.node import NodeWork, node_work
from bench.readings import Readings
from bench.usage import Cpu, ThreadCpu, opensearch_seconds, postgres_seconds
from flusso_engine.backends import RunOptions, build_engine
from flusso_engine.observer import NullObserver
from flusso_engine.schema import load_config


@dataclass(frozen=True)
class Reading(Readings):
    """Wall clock, this process's CPU, the servers' CPU and the node's counters at one moment."""

    seconds: float
    cpu: Cpu
    node: NodeWork


class Backfill(NullObserver):
    """Rows seeded, and a reading where the backfill starts and one where it ends."""

    def __init__(self, postgres_datadir: Path, opensearch_url: str) -> None:
        self.rows = 0
        self._datadir, self._url = postgres_datadir, opensearch_url
        self.start: Reading | None = None
        self.end: Reading | None = None

    def backfill_started(self, indexes: Sequence[str]) -> None:
        cpu, node = self._servers(), node_work(self._url)  # read before the clock starts
        self.start = Reading(time.perf_counter(), replace(cpu, driver=time.process_time()), node)

    def backfill_progress(self, rows: Mapping[str, int]) -> None:
        self.rows = sum(rows.values())

    def index_seeded(self, index: str) -> None:
        seconds, driver = time.perf_counter(), time.process_time()  # the clock stops first
        self.end = Reading(seconds, replace(self._servers(), driver=driver), node_work(self._url))

    def window(self) -> Reading:
        if self.start is None or self.end is None:
            raise RuntimeError("the run seeded nothing: bench.seed needs a fresh index prefix")
        return self.end - self.start

    def _servers(self) -> Cpu:
        return Cpu(0.0, postgres_seconds(self._datadir), opensearch_seconds(self._url))


def peak_rss_kb() -> int:
    """This process image's peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that across
    exec, so a process started by a harness holding 150 MB would report the harness's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=Path)
    parser.add_argument("slot")
    parser.add_argument("postgres_datadir", type=Path)
    parser.add_argument("opensearch_url")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument text profile here")
    args = parser.parse_args()
    backfill = Backfill(args.postgres_datadir, args.opensearch_url)
    engine = build_engine(load_config(args.config), RunOptions(slot=args.slot, publication=args.slot), observer=backfill)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    with ThreadCpu() as threads:
        started = time.perf_counter()
        engine.run(live=False)
        run_seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, show_all=False))
    peak_kb = peak_rss_kb()
    print(orjson.dumps({
        "documents": backfill.rows, "run_seconds": run_seconds, "peak_rss_mb": peak_kb / 1024,
        "thread_seconds": threads.seconds(), "backfill": asdict(backfill.window()),
    }).decode())


if __name__ == "__main__":
    main()
