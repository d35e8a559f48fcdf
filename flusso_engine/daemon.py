"""`flusso run`: backfill what is unseeded, then follow live changes, until told to stop.

The engine runs on its own thread (EngineThread) so the main thread owns the signals: the first
SIGINT/SIGTERM stops gracefully (the batch in flight is flushed and confirmed, nothing else), a
second one exits at once (safe too: unconfirmed changes are redelivered). `until_caught_up` ends
the run once every index is seeded and the slot has confirmed the server's position as of the
moment live streaming began.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from flusso_engine.backends import RunOptions, build_engine
from flusso_engine.capture.position import slot_position
from flusso_engine.capture.slot import format_lsn
from flusso_engine.progress import LogProgress
from flusso_engine.runlock import LiveRunLock
from flusso_engine.runner import EngineThread
from flusso_engine.schema import load_config

logger = logging.getLogger("flusso.run")
TICK_SECONDS = 0.5


@dataclass(frozen=True)
class RunCommand:
    config: Path | None
    options: RunOptions
    until_caught_up: bool = False
    progress_every_s: float = 10.0


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


def run(command: RunCommand) -> int:
    config = load_config(command.config)
    options = command.options
    dsn = config.source.url.get_secret_value()
    progress = LogProgress(command.progress_every_s)
    signals = _Signals()
    signals.install()
    logger.info("starting", extra={"config": str(config.path), "slot": options.slot,
                                   "indexes": [index.name for index in config.enabled_indexes()]})
    with LiveRunLock(dsn, options.slot):
        worker = EngineThread(build_engine(config, options, observer=progress)).start()
        target = None
        try:
            while not worker.wait(TICK_SECONDS) and not signals.stop.is_set():
                progress.report_if_due()
                if command.until_caught_up and progress.live.is_set():
                    target = target or slot_position(dsn, options.slot).head
                    position = slot_position(dsn, options.slot)
                    if position.confirmed is not None and position.confirmed >= target:
                        logger.info("caught up", extra={"lsn": format_lsn(position.confirmed)})
                        break
        finally:
            worker.stop()
    logger.info("stopped")
    return 0
