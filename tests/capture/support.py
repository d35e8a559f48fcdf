"""Helpers for capture tests: a live stream on a thread, slot state, waiting."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from flusso_engine.capture.polling import PollingCapture
from flusso_engine.capture.slot import parse_lsn
from flusso_engine.capture.wal import WalCapture
from flusso_engine.model import Change

SLOT = "flusso_test"
PUBLICATION = "flusso_test"


@dataclass
class Follower:
    """A capture's live stream running on its own thread."""

    capture: WalCapture | PollingCapture
    changes: queue.Queue[Change] = field(default_factory=queue.Queue)
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def start(self) -> Follower:
        def run() -> None:
            try:
                for change in self.capture.live():
                    self.changes.put(change)
            except BaseException as error:  # surfaced by take()/finish()
                self.error = error

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        return self

    def take(self, count: int, timeout: float = 15.0) -> list[Change]:
        """Exactly the next `count` changes, failing if they do not arrive in time."""
        taken: list[Change] = []
        deadline = time.monotonic() + timeout
        while len(taken) < count:
            if self.error is not None:
                raise self.error
            try:
                taken.append(self.changes.get(timeout=max(0.01, min(0.2, deadline - time.monotonic()))))
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise AssertionError(f"expected {count} changes, got {len(taken)}: {taken}") from None
        return taken

    def quiet(self, seconds: float = 1.5) -> list[Change]:
        """Whatever arrives within `seconds` (used to assert nothing more arrives)."""
        time.sleep(seconds)
        extra = []
        while not self.changes.empty():
            extra.append(self.changes.get_nowait())
        return extra

    def finish(self) -> None:
        self.capture.stop()
        assert self.thread is not None
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "live() did not end after stop()"
        self.capture.close()
        if self.error is not None:
            raise self.error


def slot_exists(db: psycopg.Connection) -> bool:
    return db.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)).fetchone() is not None


def confirmed_flush(db: psycopg.Connection) -> int:
    row = db.execute("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)).fetchone()
    assert row is not None
    return parse_lsn(row[0])


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
