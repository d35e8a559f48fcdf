"""Progress of a run: counters any front end can read, and a logger of them.

`Progress` only counts (thread-safe: the engine's threads write, a front end's main thread
reads), so the CLI and the Dagster live job report the same numbers. `LogProgress` turns them
into log lines: lifecycle events as they happen, a summary at a steady pace, never one line per
change at INFO.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence

from flusso_engine.observer import BatchStats, NullObserver

logger = logging.getLogger("flusso.run")


class Progress(NullObserver):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.changes = 0
        self.documents: Counter[str] = Counter()
        self.backfill: dict[str, int] = {}
        self.latency_s: float | None = None
        self.live = threading.Event()
        self._seeded: list[str] = []

    def backfill_started(self, indexes: Sequence[str]) -> None:
        with self._lock:
            self.backfill = dict.fromkeys(indexes, 0)

    def backfill_progress(self, rows: Mapping[str, int]) -> None:
        with self._lock:
            self.backfill.update(rows)

    def index_seeded(self, index: str) -> None:
        with self._lock:
            self._seeded.append(index)

    def live_started(self) -> None:
        self.live.set()

    def batch_flushed(self, stats: BatchStats) -> None:
        with self._lock:
            self.changes += stats.changes
            self.documents.update(stats.documents)
            if stats.newest_commit is not None:
                self.latency_s = max(0.0, time.time() - stats.newest_commit)

    def take_seeded(self) -> list[str]:
        """Indexes seeded since the last call."""
        with self._lock:
            seeded, self._seeded = self._seeded, []
            return seeded

    def snapshot(self) -> tuple[int, dict[str, int], dict[str, int], float | None]:
        """(changes, documents per index, backfill rows per index, latency) at one instant."""
        with self._lock:
            return self.changes, dict(self.documents), dict(self.backfill), self.latency_s


class LogProgress(Progress):
    def __init__(self, every_seconds: float = 10.0) -> None:
        super().__init__()
        self._every = every_seconds
        self._last_report = time.monotonic()
        self._changes_reported = 0

    def index_ensured(self, index: str) -> None:
        logger.info("index ensured", extra={"index": index})

    def backfill_started(self, indexes: Sequence[str]) -> None:
        super().backfill_started(indexes)
        logger.info("backfill started", extra={"indexes": list(indexes)})

    def index_seeded(self, index: str) -> None:
        super().index_seeded(index)
        logger.info("index seeded", extra={"index": index, "documents": self.backfill.get(index, 0)})

    def live_started(self) -> None:
        super().live_started()
        logger.info("following live changes")

    def batch_flushed(self, stats: BatchStats) -> None:
        super().batch_flushed(stats)
        logger.debug("batch flushed", extra={"changes": stats.changes, "documents": dict(stats.documents),
                                             "build_ms": round(stats.build_seconds * 1000, 2),
                                             "flush_ms": round(stats.flush_seconds * 1000, 2)})

    def document_quarantined(self, index: str, id: str, reason: str) -> None:
        logger.warning("document quarantined", extra={"index": index, "id": id, "reason": reason})

    def error(self, error: BaseException) -> None:
        logger.error("run failed: %s", error)

    def report_if_due(self) -> None:
        """Called from the main thread: one summary line per interval."""
        now = time.monotonic()
        if now - self._last_report < self._every:
            return
        changes, documents, backfill, latency = self.snapshot()
        facts: dict[str, object] = {
            "changes": changes, "changes_per_s": round((changes - self._changes_reported) / (now - self._last_report), 1),
            "documents": documents,
        }
        if not self.live.is_set():
            facts["backfill"] = backfill
        if latency is not None:
            facts["latency_s"] = round(latency, 3)
        self._last_report, self._changes_reported = now, changes
        logger.info("progress", extra=facts)
