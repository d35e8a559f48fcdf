"""Does building batch N+1 while batch N flushes pay? The same runs with BatchPolicy.ahead 0 and 1.

    python -m bench.overlap [--rows N] [--updates N] [--rounds R]

Two workloads on the flat index (products' own columns) of a demo store, each run alternately
with ahead=0 (the strict sequence: build, write, flush, confirm, next batch) and ahead=1, so
that both see the same machine noise:
- seed: a backfill of every product into a fresh index (backfill batches of a snapshot page, 8192 rows);
- live: a backlog of `updates` product updates committed while no engine runs, then followed
  live (batches of 256) until caught up.
The ratio ahead=1 / ahead=0 is the figure; the services are started for the run (bench.stack).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psycopg
from opensearchpy import OpenSearch

from bench.stack import FLAT, Stack, started, write_config
from dev.demo.generate import generate
from flusso_engine.backends import RunOptions, build_builder, build_capture, build_sink, selected_indexes
from flusso_engine.engine import Engine
from flusso_engine.observer import NullObserver
from flusso_engine.policy import BACKFILL_BATCH, BatchPolicy
from flusso_engine.schema import load_config


class StopWhenCaughtUp(NullObserver):
    """Ends a live run at its first caught-up flush after the backlog."""

    def __init__(self) -> None:
        self.stop: Callable[[], None] = lambda: None

    def caught_up(self) -> None:
        self.stop()


def engine_for(config: Path, slot: str, ahead: int, observer: NullObserver) -> Engine:
    loaded = load_config(config)
    options = RunOptions(slot=slot, publication=slot)
    indexes = selected_indexes(loaded)
    return Engine(
        build_capture(loaded, options, indexes), build_builder(loaded, indexes), build_sink(loaded, options),
        batch=BatchPolicy(ahead=ahead),
        backfill_batch=replace(BACKFILL_BATCH, ahead=ahead),
        observer=observer,
    )


def seed_rate(stack: Stack, url: str, workdir: Path, ahead: int, rows: int) -> tuple[float, Path, str]:
    """Docs/s of a fresh seed; returns the config and slot for the live round that follows."""
    prefix, slot = f"o{uuid.uuid4().hex[:8]}_", f"overlap_{uuid.uuid4().hex[:8]}"
    config = write_config(workdir / f"{prefix}flusso.toml", url, stack.opensearch_url, prefix, FLAT)
    started_at = time.perf_counter()
    engine_for(config, slot, ahead, NullObserver()).run(live=False)
    return rows / (time.perf_counter() - started_at), config, slot


def live_rate(url: str, config: Path, slot: str, ahead: int, updates: int) -> float:
    """Changes/s of following a backlog of `updates` product updates until caught up."""
    with psycopg.connect(url, autocommit=True) as conn:
        for first in range(1, updates + 1, 1000):
            conn.execute(
                "UPDATE products SET price = price + 1 WHERE id BETWEEN %s AND %s",
                (first, min(first + 999, updates)),
            )
    observer = StopWhenCaughtUp()
    engine = engine_for(config, slot, ahead, observer)
    observer.stop = engine.stop
    started_at = time.perf_counter()
    engine.run()
    return updates / (time.perf_counter() - started_at)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--updates", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with started() as stack:
        url = stack.database("overlap_store")
        with psycopg.connect(url, autocommit=True) as conn:
            generate(conn, args.rows)
            (products,) = conn.execute("SELECT count(*) FROM products").fetchone() or (0,)
        workdir = Path(stack.postgres.base)
        client = OpenSearch(hosts=[stack.opensearch_url], timeout=120)
        rates: dict[tuple[str, int], list[float]] = {}
        for round_ in range(args.rounds):
            for ahead in (0, 1):
                seeded, config, slot = seed_rate(stack, url, workdir, ahead, products)
                followed = live_rate(url, config, slot, ahead, min(args.updates, products))
                rates.setdefault(("seed", ahead), []).append(seeded)
                rates.setdefault(("live", ahead), []).append(followed)
                print(f"round {round_ + 1} ahead={ahead}: seed {seeded:,.0f} docs/s, live {followed:,.0f} changes/s", flush=True)
                client.indices.delete(index="o*", expand_wildcards="all")
                stack.drop_slots()
        for workload in ("seed", "live"):
            before, after = max(rates[(workload, 0)]), max(rates[(workload, 1)])
            print(f"{workload}: ahead=0 best {before:,.0f}/s, ahead=1 best {after:,.0f}/s, ratio {after / before:.2f}")


if __name__ == "__main__":
    main()
