"""B3 latency, B4 sustained throughput, B7 WAL held: a live engine under a change load."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.lag import LagSampler
from bench.opensearch_sink import post_bulk
from bench.stack import Stack, write_config
from dev.home import PROJECT_ROOT
from flusso_engine.backends import RunOptions, build_builder, build_capture, build_sink, failure_policies, selected_indexes
from flusso_engine.capture.protocol import ChangeCapture
from flusso_engine.collector import settle_for_streaming
from flusso_engine.engine import Engine
from flusso_engine.model import Ack, Change, RowKey, TableRef
from flusso_engine.observer import FanOutObserver, NullObserver, Observer
from flusso_engine.schema import load_config

#: Load processes share the rate above this many changes/s each (one process keeps it with room to spare).
RATE_PER_LOADER = 4000


class TimedCapture:
    """A capture that notes each live change's commit time and, when its ack is confirmed (right
    after the flush that made it durable), the latency from commit to that moment."""

    def __init__(self, inner: ChangeCapture) -> None:
        self._inner = inner
        self._commits: dict[int, tuple[float, str]] = {}  # ack seq -> (commit time, table name)
        #: (commit time, latency) of every change confirmed so far.
        self.confirmed: list[tuple[float, float]] = []
        #: The same latencies by table name: a load that mixes kinds of change reports each kind.
        self.by_table: dict[str, list[float]] = {}

    @property
    def pending(self) -> int:
        return len(self._commits)

    @property
    def latencies(self) -> list[float]:
        return [latency for _, latency in self.confirmed]

    def snapshot(self, tables: Sequence[TableRef], after: Mapping[TableRef, RowKey] | None = None) -> Iterator[Change]:
        return self._inner.snapshot(tables, after)

    def live(self) -> Iterator[Change]:
        for change in self._inner.live():
            if change.commit_time is not None:
                self._commits[change.ack.seq] = (change.commit_time, change.table.name)
            yield change

    def unconfirmed(self, now: float, table: str | None = None) -> list[float]:
        """How long the changes (of `table`, if given) still waiting for their confirm have waited
        so far: a lower bound of their latency, so a run that falls behind cannot drop its slowest
        changes unseen."""
        return [now - committed for committed, name in self._commits.values() if table in (None, name)]

    def forget(self) -> None:
        """Drop the latencies confirmed so far (a warm-up's)."""
        self.confirmed.clear()
        self.by_table.clear()

    def confirm(self, acks: Sequence[Ack]) -> None:
        now = time.time()
        for ack in acks:
            timed = self._commits.pop(ack.seq, None)
            if timed is not None:
                committed, table = timed
                self.confirmed.append((committed, now - committed))
                self.by_table.setdefault(table, []).append(now - committed)
        self._inner.confirm(acks)

    def stop(self) -> None:
        self._inner.stop()

    def close(self) -> None:
        self._inner.close()


class LiveStarted(NullObserver):
    """Set once the engine reads the live stream: its backfill and the promotion after it are over."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def live_started(self) -> None:
        self.event.set()


#: The warm-up load `await_following` runs before a measured one: rate (changes/s) and seconds.
WARM_UP_RATE, WARM_UP_SECONDS = 100, 1


def await_following(observer: LiveStarted, capture: TimedCapture, database_url: str) -> None:
    """Return once the engine follows the live stream and has confirmed a short warm-up load,
    whose latencies are then forgotten.

    A load started when the backfill's last batch was flushed would charge its first second of
    changes with the one-time hand-over to live: the new generation's promotion refreshes it
    (about 1 s for 50,000 documents) and the stream starts, while the changes queue. Those were
    622 of B3's 754 slowest changes in a probe (2026-12-02): its p99 was 351 ms with them in a
    full run and 134 ms without them in a run of B3 alone. B3 measures following; the hand-over
    is a start-up cost, paid once per seeding.
    """
    if not observer.event.wait(600):
        raise RuntimeError("the engine never started following the live stream")
    run_load(database_url, WARM_UP_RATE, WARM_UP_SECONDS, seed=11)
    await_confirmed(capture)
    capture.forget()


def await_confirmed(capture: TimedCapture, seconds: float = 30) -> None:
    """Wait until every change a finished load made is confirmed, or `seconds` pass. The first
    second lets its last changes reach the capture."""
    deadline = time.monotonic() + seconds
    time.sleep(1.0)
    while capture.pending and time.monotonic() < deadline:
        time.sleep(0.2)


def run_load(database_url: str, rate: float, seconds: float, seed: int) -> None:
    """The demo load (dev/demo/load.py) at `rate` changes/s for `seconds`, in a process of its own."""
    argv = [sys.executable, "-m", "dev.demo.load", "--dsn", database_url, "--rate", str(rate), "--duration", str(seconds),
            "--seed", str(seed)]
    subprocess.run(argv, cwd=PROJECT_ROOT, check=True, capture_output=True)


@dataclass(frozen=True)
class LatencyRun:
    """One measured load: every change's latency, those still unconfirmed at its end counted at
    what they had waited; and the latency floor measured after it."""

    latencies: list[float]
    unconfirmed: int
    floor: float
    #: (commit time, latency) of each change confirmed.
    confirmed: list[tuple[float, float]]


@dataclass(frozen=True)
class Latency:
    p50: float
    p95: float
    p99: float
    changes: int
    floor: float
    #: Changes read but still unconfirmed when the run ended (counted at what they had waited).
    unconfirmed: int

    @classmethod
    def pooled(cls, runs: Sequence[LatencyRun]) -> Latency:
        """Percentiles over every change of `runs` together, as of one longer run; the lowest floor."""
        latencies = [value for run in runs for value in run.latencies]
        return cls(percentile(latencies, 0.5), percentile(latencies, 0.95), percentile(latencies, 0.99), len(latencies),
                   min(run.floor for run in runs), sum(run.unconfirmed for run in runs))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def bulk_round_trip(opensearch_url: str, requests: int = 50) -> float:
    """Mean seconds of a one-document bulk request: with the batch delay, the latency floor."""
    body = b'{"index":{"_index":"bench_rtt","_id":"1"}}\n{"x":1}\n'
    post_bulk(opensearch_url, [body] * 5, 1)  # creates the index
    return post_bulk(opensearch_url, [body] * requests, 1) / requests


def timed_engine(stack: Stack, database_url: str, schemas: dict[str, Path], workdir: Path,
                 observer: Observer | None = None) -> tuple[Engine, TimedCapture, LiveStarted]:
    """An engine as `flusso run` builds it, on a slot of its own, whose capture times every change;
    `observer` hears its events too."""
    slot = f"bench_{uuid.uuid4().hex[:8]}"
    config = load_config(write_config(workdir / f"{slot}.toml", database_url, stack.opensearch_url, f"{slot}_", schemas))
    options = RunOptions(slot=slot, publication=slot)
    indexes = selected_indexes(config)
    capture = TimedCapture(build_capture(config, options, indexes))
    started = LiveStarted()
    engine = Engine(capture, build_builder(config, indexes), build_sink(config, options), batch=options.batch,
                    failures=failure_policies(config), observer=FanOutObserver([started] + ([observer] if observer else [])))
    return engine, capture, started


def latency(stack: Stack, database_url: str, schemas: dict[str, Path], workdir: Path, rate: float, seconds: float,
            profile: Path | None = None, observer: Observer | None = None) -> LatencyRun:
    """Engine in this process (its worker on the main thread, under pyinstrument if `profile`
    names where its report goes; `observer` hears its events); the demo load in another. A
    measured run is not profiled: the profiler's hook on every Python call slows the engine it
    watches."""
    from pyinstrument import Profiler

    engine, capture, started = timed_engine(stack, database_url, schemas, workdir, observer)

    def drive() -> None:
        try:
            await_following(started, capture, database_url)
            run_load(database_url, rate, seconds, seed=3)
            await_confirmed(capture)
        finally:
            engine.stop()

    settle_for_streaming()  # as build_engine does for `flusso run`'s process
    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    profiler = Profiler() if profile is not None else None
    if profiler is not None:
        profiler.start()
    engine.run()
    driver.join()
    if profiler is not None and profile is not None:
        profiler.stop()
        profile.write_text(profiler.output_text(unicode=True))
    stack.drop_slots()
    late = capture.unconfirmed(time.time())
    policy = RunOptions().batch  # a lone change waits the idle delay, when the policy has one
    floor = (policy.max_delay if policy.idle_delay is None else policy.idle_delay) + bulk_round_trip(stack.opensearch_url)
    return LatencyRun(capture.latencies + late, len(late), floor, capture.confirmed)


class FlussoRun:
    """`flusso run` as a user runs it, in a subprocess: the engine has a process of its own."""

    def __init__(self, config: Path, slot: str) -> None:
        flusso = Path(sys.executable).parent / "flusso"
        self._process = subprocess.Popen([str(flusso), "run", "--config", str(config), "--slot", str(slot), "--publication", slot],
                                         cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def following(stack: Stack, database_url: str, schemas: dict[str, Path], workdir: Path, name: str) -> tuple[FlussoRun, LagSampler]:
    """A `flusso run` that has seeded its indexes and caught up with the server."""
    slot = f"bench_{name}_{uuid.uuid4().hex[:6]}"
    config = write_config(workdir / f"{slot}.toml", database_url, stack.opensearch_url, f"{slot}_", schemas)
    run = FlussoRun(config, slot)
    sampler = LagSampler(database_url, slot)
    deadline = time.monotonic() + 600
    while slot_missing(database_url, slot):
        if time.monotonic() > deadline:
            raise RuntimeError(f"flusso run never created slot {slot}")
        time.sleep(0.5)
    if not sampler.wait_caught_up(600):
        raise RuntimeError("flusso run did not catch up")
    return run, sampler


def slot_missing(dsn: str, slot: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND confirmed_flush_lsn IS NOT NULL", (slot,)).fetchone() is None


def churn(database_url: str, kind: str, rate: float, seconds: float, seed: int) -> list[subprocess.Popen]:
    """Load processes sharing `rate`, each with its own seed."""
    loaders = max(1, math.ceil(rate / RATE_PER_LOADER))
    return [
        subprocess.Popen([sys.executable, "-m", "bench.churn", database_url, kind, "--rate", str(rate / loaders),
                          "--duration", str(seconds), "--seed", str(seed + n)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        for n in range(loaders)
    ]


def sample_while(loaders: list[subprocess.Popen], sampler: LagSampler) -> tuple[list[tuple[float, int]], int]:
    """Lag samples once a second while the loaders run; returns them and the changes made."""
    samples = []
    while any(loader.poll() is None for loader in loaders):
        samples.append(sampler.sample())
        time.sleep(1.0)
    made = sum(int(loader.communicate()[0].strip() or 0) for loader in loaders)
    return samples, made


@dataclass(frozen=True)
class Step:
    offered: float
    achieved: float
    max_lag_seconds: float
    flat: bool


def sustained(stack: Stack, database_url: str, schemas: dict[str, Path], workdir: Path, rates: Sequence[float],
              seconds: float, flat_lag_seconds: float = 2.0) -> list[Step]:
    """Raise the products update rate step by step until the slot's time lag grows."""
    run, sampler = following(stack, database_url, schemas, workdir, "b4")
    steps = []
    try:
        for rate in rates:
            samples, made = sample_while(churn(database_url, "products", rate, seconds, seed=int(rate)), sampler)
            achieved = made / seconds  # the loaders pace their quota over `seconds` (see bench/churn.py)
            late = [lag for lag, _ in samples[len(samples) // 2:]] or [0.0]
            steps.append(Step(rate, achieved, max(late), max(late) <= flat_lag_seconds))
            if not steps[-1].flat:
                break
            sampler.wait_caught_up(60)
    finally:
        run.stop()
        stack.drop_slots()
    return steps


@dataclass(frozen=True)
class Held:
    max_seconds: float
    max_bytes: int
    window_seconds: float
    wal_bytes: int


def wal_held(stack: Stack, database_url: str, schemas: dict[str, Path], workdir: Path, rate: float, seconds: float) -> Held:
    """Only a table no index reads changes; the slot must still move with the head."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_noise (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text)")
    run, sampler = following(stack, database_url, schemas, workdir, "b7")
    try:
        with psycopg.connect(database_url) as conn:
            start = int(str(conn.execute("SELECT pg_current_wal_lsn() - '0/0'").fetchone()[0]))  # type: ignore[index]
        samples, _ = sample_while(churn(database_url, "noise", rate, seconds, seed=7), sampler)
        with psycopg.connect(database_url) as conn:
            end = int(str(conn.execute("SELECT pg_current_wal_lsn() - '0/0'").fetchone()[0]))  # type: ignore[index]
    finally:
        run.stop()
        stack.drop_slots()
    return Held(max(s for s, _ in samples), max(b for _, b in samples), seconds, end - start)

