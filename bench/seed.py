"""One seeding run of one index, in a process of its own: what B1, B2 and B5 measure.

    python -m bench.seed CONFIG SLOT [--profile OUT.txt]

Runs exactly what a Dagster materialization runs (build_engine(...).run(live=False)) and prints
one JSON line: documents seeded, seconds, the CPU seconds the process spent meanwhile (all its
threads, and by thread) and its peak RSS. A process of its own so the peak RSS is the engine's
alone, not the harness's.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from pathlib import Path

import orjson

from bench.usage import ThreadCpu
from flusso_engine.backends import RunOptions, build_engine
from flusso_engine.observer import NullObserver
from flusso_engine.schema import load_config


class SeededRows(NullObserver):
    def __init__(self) -> None:
        self.rows = 0

    def backfill_progress(self, rows: Mapping[str, int]) -> None:
        self.rows = sum(rows.values())


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
    parser.add_argument("--profile", type=Path, help="write a pyinstrument text profile here")
    args = parser.parse_args()
    seeded = SeededRows()
    engine = build_engine(load_config(args.config), RunOptions(slot=args.slot, publication=args.slot), observer=seeded)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    with ThreadCpu() as threads:
        started, cpu_started = time.perf_counter(), time.process_time()
        engine.run(live=False)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, show_all=False))
    peak_kb = peak_rss_kb()
    print(orjson.dumps({
        "documents": seeded.rows, "seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mb": peak_kb / 1024,
        "thread_seconds": threads.seconds(),
    }).decode())


if __name__ == "__main__":
    main()
