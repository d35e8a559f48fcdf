"""Engine overhead per change, with in-memory edges and a no-op sink, on one core.

Measures what the engine itself adds on the hot path (the capture thread, the bounded queue,
batching, resolve bookkeeping, dedup, flush-then-confirm, observer calls) by comparing a full
Engine run against a baseline measured in the same process: a bare loop that moves the same
Change objects through a deque and calls the same edge functions directly. The edges do the
least they can (distinct flat rows, one prebuilt JSON body), so the difference is the engine.

    python bench/engine_overhead.py [--changes N] [--repeat R] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import deque
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flusso_engine.engine import Engine  # noqa: E402
from flusso_engine.model import (  # noqa: E402
    Ack,
    Change,
    DocId,
    Document,
    FlushReport,
    IndexSpec,
    Lsn,
    Op,
    RowKey,
    TableRef,
)
from flusso_engine.policy import BatchPolicy  # noqa: E402
from flusso_engine.sinks.protocol import Flushed  # noqa: E402

USERS = TableRef("public", "users")
BODY = b'{"id":1,"email":"ada@example.com","name":"Ada","active":true,"score":12.5}'
CLEAN = Flushed(FlushReport())
BATCH = BatchPolicy()


class ListCapture:
    def __init__(self, changes: Sequence[Change]) -> None:
        self.changes = changes
        self.confirmed = 0

    def snapshot(self, tables: Sequence[TableRef], after: Mapping[TableRef, RowKey] | None = None) -> Iterator[Change]:
        return iter(())

    def live(self) -> Iterator[Change]:
        return iter(self.changes)

    def confirm(self, acks: Sequence[Ack]) -> None:
        self.confirmed += len(acks)

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class FlatBuilder:
    """One index on `users`; each change is its own root document."""

    def indexes(self) -> Sequence[IndexSpec]:
        return [IndexSpec("users", USERS, {})]

    def resolve(self, changes: Sequence[Change]) -> dict[str, set[RowKey]]:
        return {"users": {change.key for change in changes}}

    def build(self, index: str, keys: Collection[RowKey], version: Lsn) -> list[Document]:
        return [Document(DocId(index, key), BODY, version) for key in keys]

    def close(self) -> None:
        pass


class NullSink:
    persistent = True

    def ensure_index(self, index: IndexSpec) -> None:
        pass

    def is_seeded(self, index: str) -> bool:
        return True

    def mark_seeded(self, index: str) -> None:
        pass

    def checkpoint(self, index: str) -> None:
        return None

    def save_checkpoint(self, index: str, checkpoint: object) -> None:
        pass

    def reindex(self, index: str) -> None:
        pass

    def write(self, documents: object) -> None:
        pass

    def flush(self, caught_up: bool) -> Flushed:
        return CLEAN

    def close(self) -> None:
        pass


def make_changes(count: int) -> list[Change]:
    return [Change(Op.UPDATE, USERS, (str(seq),), Ack(seq, 1000 + seq)) for seq in range(count)]


def run_engine(changes: list[Change]) -> float:
    capture = ListCapture(changes)
    engine = Engine(capture, FlatBuilder(), NullSink(), batch=BATCH, skip_backfill=True)
    started = time.perf_counter()
    engine.run()
    elapsed = time.perf_counter() - started
    assert capture.confirmed == len(changes), "the engine lost changes"
    return elapsed


def run_baseline(changes: list[Change]) -> float:
    """The same edge calls with no machinery: a deque, fixed-size batches, direct calls."""
    capture, builder, sink = ListCapture(changes), FlatBuilder(), NullSink()
    started = time.perf_counter()
    pending = deque(changes)
    size = BATCH.max_changes
    while pending:
        batch = [pending.popleft() for _ in range(min(size, len(pending)))]
        acks = [change.ack for change in batch]
        version = max([ack.lsn for ack in acks])
        for index, keys in builder.resolve(batch).items():
            sink.write(builder.build(index, keys, version))
        sink.flush(not pending)
        capture.confirm(acks)
    elapsed = time.perf_counter() - started
    assert capture.confirmed == len(changes)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile one engine run")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, threads included
    changes = make_changes(args.changes)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        run_engine(changes)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
        return

    run_engine(changes[:10_000])  # warm-up
    engine = min(run_engine(changes) for _ in range(args.repeat))
    baseline = min(run_baseline(changes) for _ in range(args.repeat))
    per_change = engine / args.changes * 1e6
    base_per_change = baseline / args.changes * 1e6
    print(f"changes per run:   {args.changes} (best of {args.repeat}, batch {BATCH.max_changes})")
    print(f"engine:            {per_change:6.2f} µs/change  {args.changes / engine:10,.0f} changes/s")
    print(f"baseline:          {base_per_change:6.2f} µs/change  {args.changes / baseline:10,.0f} changes/s")
    print(f"ratio:             {engine / baseline:6.2f}x")
    print(f"engine overhead:   {per_change - base_per_change:6.2f} µs/change above the baseline")


if __name__ == "__main__":
    main()
