"""One seeding run of one index, in a process of its own: what B1, B2 and B5 measure.

    python -m bench.seed CONFIG SLOT [--profile OUT.txt]

Runs exactly what a Dagster materialization runs (build_engine(...).run(live=False)) and prints
one JSON line: documents seeded, seconds, and the process's peak RSS. A process of its own so the
peak RSS is the engine's alone, not the harness's.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Mapping
from pathlib import Path

import orjson

from flusso_engine.backends import RunOptions, build_engine
from flusso_engine.observer import NullObserver
from flusso_engine.schema import load_config


class SeededRows(NullObserver):
    def __init__(self) -> None:
        self.rows = 0

    def backfill_progress(self, rows: Mapping[str, int]) -> None:
        self.rows = sum(rows.values())


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
    started = time.perf_counter()
    engine.run(live=False)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=True, show_all=False))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(orjson.dumps({"documents": seeded.rows, "seconds": seconds, "peak_rss_mb": peak_kb / 1024}).decode())


if __name__ == "__main__":
    main()
