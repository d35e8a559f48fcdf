"""`flusso run`: backfill what is unseeded, then follow live changes, until told to stop.

The engine runs on its own thread (EngineThread) so the main thread owns the signals: the first
SIGINT/SIGTERM stops gracefully (the batch in flight is flushed and confirmed, nothing else), a
second one exits at once (safe too: unconfirmed changes are redelivered). `until_caught_up` ends
the run once every index is seeded and the slot has confirmed the server's position as of the
moment live streaming began; the same moment makes /readyz of the status surface answer 200.
The surface is bound before anything else starts, so a taken port fails the run at once.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psycopg

from flusso_engine.backends import RunOptions, build_engine, selected_indexes
from flusso_engine.capture.position import slot_position
from flusso_engine.capture.slot import format_lsn
from flusso_engine.errors import FlussoError
from flusso_engine.http_status import StatusServer
from flusso_engine.metrics import RunMetrics
from flusso_engine.model import Lsn
from flusso_engine.observer import FanOutObserver
from flusso_engine.progress import LogProgress
from flusso_engine.backfill_totals import backfill_totals
from flusso_engine.runlock import LiveRunLock
from flusso_engine.runner import EngineThread
from flusso_engine.schema import Config, load_config
from flusso_engine.status import RunStatus

logger = logging.getLogger("flusso.run")
TICK_SECONDS = 0.5
#: How often the slot's lag is sampled once caught up (before that, every tick).
LAG_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class RunCommand:
    config: Path | None
    options: RunOptions
    until_caught_up: bool = False
    progress_every_s: float = 10.0
    status_address: tuple[str, int] | None = None  # None: no status surface


class _Signals:
    """First signal: request a graceful stop. Second: leave now."""

    def __init__(self) -> None:
        self.stop = threading.Event()

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.stop.is_set():
            logger.warning("second signal: exiting now; unconfirmed changes will be redelivered")
            os._exit(130)
        logger.info("stopping: finishing the batch in flight (signal again to force)")
        self.stop.set()


class _SlotWatch:
    """Samples the slot's position: lag for the status and metrics, and "caught up", meaning the
    slot confirmed the server's position as of the moment live streaming began."""

    def __init__(self, dsn: str, slot: str, status: RunStatus, metrics: RunMetrics) -> None:
        self._dsn, self._slot = dsn, slot
        self._status, self._metrics = status, metrics
        self._target: Lsn | None = None
        self.caught_up = False
        self._next_poll = 0.0

    def tick(self, live: bool) -> None:
        now = time.monotonic()
        if now < self._next_poll:
            return
        catching_up = live and not self.caught_up  # then every tick: "caught up" ends --until-caught-up
        self._next_poll = now + (0.0 if catching_up else LAG_POLL_SECONDS)
        try:
            position = slot_position(self._dsn, self._slot)
        except psycopg.Error as error:
            logger.warning("cannot read the slot's position: %s", str(error).strip().splitlines()[0])
            return
        self._status.slot_position(position)
        if position.lag_bytes is not None:
            self._metrics.slot_lag.set(position.lag_bytes)
        if not live or self.caught_up:
            return
        self._target = self._target or position.head
        if position.confirmed is not None and position.confirmed >= self._target:
            self.caught_up = True
            self._status.caught_up_with_server()
            logger.info("caught up", extra={"lsn": format_lsn(position.confirmed)})


class Restarts:
    """After a transient failure (OpenSearch or Postgres gone for longer than their own retries
    last), the engine is rebuilt and restarted instead of the process exiting: unconfirmed
    changes are redelivered, so a restart is always safe. The wait doubles, with jitter, up to a
    cap, and starts over once a run has lasted a while."""

    def __init__(self, stop: threading.Event, base: float = 1.0, cap: float = 60.0, healthy_after: float = 120.0) -> None:
        self._stop = stop
        self._base, self._cap, self._healthy_after = base, cap, healthy_after
        self._failures = 0
        self._started = time.monotonic()

    def wait_after(self, error: FlussoError) -> None:
        if time.monotonic() - self._started > self._healthy_after:
            self._failures = 0
        self._failures += 1
        delay = random.uniform(0.5, 1.0) * min(self._cap, self._base * 2 ** (self._failures - 1))
        logger.warning("transient failure: %s; restarting in %.1fs (failure %d in a row)", error, delay, self._failures)
        self._stop.wait(delay)
        self._started = time.monotonic()


def _run_engine(
    command: RunCommand, config: Config, progress: LogProgress, status: RunStatus, metrics: RunMetrics, signals: _Signals
) -> bool:
    """One engine run until it ends, fails or is told to stop; True when the run is over."""
    options = command.options
    dsn = config.source.url.get_secret_value()
    engine = build_engine(config, options, observer=FanOutObserver([progress, status, metrics]),
                          wrap_sink=metrics.measured_sink)
    worker = EngineThread(engine).start()
    watch = _SlotWatch(dsn, options.slot, status, metrics)
    try:
        while not worker.wait(TICK_SECONDS):
            if signals.stop.is_set():
                return True
            progress.report_if_due()
            watch.tick(progress.live.is_set())
            if command.until_caught_up and watch.caught_up:
                return True
        return True  # the capture ended: nothing more will come
    finally:
        status.stopping()
        worker.stop()


def run(command: RunCommand) -> int:
    config = load_config(command.config)
    options = command.options
    dsn = config.source.url.get_secret_value()
    progress = LogProgress.for_stderr(command.progress_every_s, backfill_totals(config))
    status = RunStatus([index.name for index in selected_indexes(config)], progress)
    metrics = RunMetrics()
    server = StatusServer(command.status_address, status, metrics).start() if command.status_address else None
    signals = _Signals()
    signals.install()
    logger.info("starting", extra={"config": str(config.path), "slot": options.slot,
                                   "indexes": [index.name for index in config.enabled_indexes()]})
    try:
        with LiveRunLock(dsn, options.slot):
            restarts = Restarts(signals.stop)
            while not signals.stop.is_set():
                try:
                    if _run_engine(command, config, progress, status, metrics, signals):
                        break
                except FlussoError as error:
                    if not error.transient:
                        raise
                    restarts.wait_after(error)
    finally:
        if server is not None:
            server.stop()
    logger.info("stopped")
    return 0
