"""Where a run stands, as one JSON snapshot: phase, each index's state, lag, counters.

The engine's threads report events, the run's main thread reports the slot's position, and the
status server's threads read; one lock keeps every snapshot consistent. Readiness means the run
serves fresh data: every index seeded and the live stream caught up with the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, Literal

from flusso_engine.capture.position import SlotPosition
from flusso_engine.capture.slot import format_lsn
from flusso_engine.observer import NullObserver
from flusso_engine.progress import Progress

Phase = Literal["starting", "backfilling", "live", "stopping"]
IndexPhase = Literal["pending", "backfilling", "seeded"]


class RunStatus(NullObserver):
    def __init__(self, indexes: Sequence[str], progress: Progress) -> None:
        self._lock = threading.Lock()
        self._progress = progress
        self._started = time.monotonic()
        self.phase: Phase = "starting"
        self._indexes: dict[str, IndexPhase] = dict.fromkeys(indexes, "pending")
        self._caught_up = False
        self._position: SlotPosition | None = None
        self._errors = 0
        self._last_error: str | None = None

    def backfill_started(self, indexes: Sequence[str]) -> None:
        with self._lock:
            self.phase = "backfilling"
            self._indexes.update(dict.fromkeys(indexes, "backfilling"))

    def index_seeded(self, index: str) -> None:
        with self._lock:
            self._indexes[index] = "seeded"

    def live_started(self) -> None:
        with self._lock:
            self.phase = "live"
            self._indexes = dict.fromkeys(self._indexes, "seeded")  # the rest needed no backfill

    def error(self, error: BaseException) -> None:
        with self._lock:
            self._errors += 1
            self._last_error = str(error)
            self.phase = "stopping"

    def stopped(self) -> None:
        self.stopping()

    def stopping(self) -> None:
        with self._lock:
            self.phase = "stopping"
            self._caught_up = False

    def slot_position(self, position: SlotPosition) -> None:
        with self._lock:
            self._position = position

    def caught_up_with_server(self) -> None:
        """The slot confirmed the server's position as of the moment live streaming began."""
        with self._lock:
            self._caught_up = self.phase == "live"

    @property
    def ready(self) -> bool:
        with self._lock:
            return self._caught_up and self.phase == "live"

    def to_json(self) -> dict[str, Any]:
        changes, documents, backfill, latency = self._progress.snapshot()
        rebuilding = self._progress.rebuilding()
        with self._lock:
            confirmed = self._position.confirmed if self._position else None
            return {
                "phase": self.phase,
                "ready": self._caught_up and self.phase == "live",
                "uptime_seconds": round(time.monotonic() - self._started, 1),
                "indexes": {
                    name: {
                        "state": state, "documents": documents.get(name, 0), "backfill_rows": backfill.get(name, 0),
                        "rebuild_pending": rebuilding.get(name, 0),
                    }
                    for name, state in self._indexes.items()
                },
                "slot_lag_bytes": self._position.lag_bytes if self._position else None,
                "last_lsn": format_lsn(confirmed) if confirmed is not None else None,
                "changes_applied": changes,
                "documents_quarantined": self._progress.quarantined_total(),
                "latency_seconds": round(latency, 3) if latency is not None else None,
                "errors": self._errors,
                "last_error": self._last_error,
            }
