"""Progress of a run: counters any front end can read, and a logger of them.

`Progress` only counts (thread-safe: the engine's threads write, a front end's main thread
reads), so the CLI and the Dagster live job report the same numbers. `LogProgress` turns them
into log lines: lifecycle events as they happen, a summary at a steady pace, never one line per
change at INFO.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import TextIO

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
        self.quarantined: Counter[str] = Counter()
        self._seeded: list[str] = []
        self._rebuilding: dict[str, int] = {}

    def backfill_started(self, indexes: Sequence[str]) -> None:
        with self._lock:
            self.backfill = dict.fromkeys(indexes, 0)

    def backfill_progress(self, documents: Mapping[str, int]) -> None:
        with self._lock:
            self.backfill.update(documents)

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

    def document_quarantined(self, index: str, id: str, reason: str) -> None:
        with self._lock:
            self.quarantined[index] += 1

    def rebuilds_pending(self, documents: Mapping[str, int]) -> None:
        with self._lock:
            self._rebuilding = dict(documents)

    def rebuilding(self) -> dict[str, int]:
        """Documents large live rebuilds have still to build, per index (absent: none)."""
        with self._lock:
            return dict(self._rebuilding)

    def quarantined_total(self) -> int:
        with self._lock:
            return sum(self.quarantined.values())

    def take_seeded(self) -> list[str]:
        """Indexes seeded since the last call."""
        with self._lock:
            seeded, self._seeded = self._seeded, []
            return seeded

    def snapshot(self) -> tuple[int, dict[str, int], dict[str, int], float | None]:
        """(changes, documents per index, backfill documents per index, latency) at one instant."""
        with self._lock:
            return self.changes, dict(self.documents), dict(self.backfill), self.latency_s


class BackfillLines:
    """One line per index being seeded, redrawn in place on a terminal: documents, rate, ETA.

    `totals` are the documents each index should hold, counted when the backfill starts: rows
    written or deleted meanwhile make them an estimate, good enough for the time left.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._drawn = 0
        self._started = time.monotonic()
        self.totals: dict[str, int] | None = None  # None: not counted yet

    def restart(self) -> None:
        self._started = time.monotonic()

    def draw(self, documents: Mapping[str, int]) -> None:
        self.clear()
        elapsed = max(time.monotonic() - self._started, 1e-6)
        lines = [self.line(name, done, (self.totals or {}).get(name), elapsed) for name, done in documents.items()]
        self._out.write("".join(f"{line}\n" for line in lines))
        self._out.flush()
        self._drawn = len(lines)

    def clear(self) -> None:
        """Erase the lines drawn last, so a log line never lands in the middle of them."""
        if self._drawn:
            self._out.write(f"\x1b[{self._drawn}F\x1b[J")
            self._out.flush()
            self._drawn = 0

    @staticmethod
    def line(index: str, done: int, total: int | None, elapsed: float) -> str:
        rate = done / elapsed
        text = f"backfill {index}: {done:,} documents, {rate:,.0f}/s"
        if total:
            left = max(total - done, 0)
            eta = f", ETA {left / rate:,.0f}s" if rate > 0 else ""
            text = f"backfill {index}: {done:,}/{total:,} documents ({min(done / total, 1):.0%}), {rate:,.0f}/s{eta}"
        return text


class LogProgress(Progress):
    """Log lines for events and a summary at a steady pace; on a terminal, the backfill is shown
    as live per-index lines instead of the periodic summary."""

    def __init__(self, every_seconds: float = 10.0, *, terminal: TextIO | None = None,
                 totals: Callable[[Sequence[str]], dict[str, int]] | None = None) -> None:
        super().__init__()
        self._every = every_seconds
        self._last_report = time.monotonic()
        self._changes_reported = 0
        self._lines = BackfillLines(terminal) if terminal is not None else None
        self._totals = totals
        self._totals_wanted: list[str] | None = None
        self._output = threading.Lock()  # engine-thread log lines vs main-thread redraws
        self._finished: set[str] = set()  # seeded during this run, guarded by _output

    @classmethod
    def for_stderr(cls, every_seconds: float, totals: Callable[[Sequence[str]], dict[str, int]]) -> LogProgress:
        return cls(every_seconds, terminal=sys.stderr if sys.stderr.isatty() else None, totals=totals)

    def _log(self, level: int, message: str, **facts: object) -> None:
        with self._output:
            if self._lines is not None:
                self._lines.clear()
            logger.log(level, message, extra=facts)

    def index_ensured(self, index: str) -> None:
        self._log(logging.INFO, "index ensured", index=index)

    def backfill_started(self, indexes: Sequence[str]) -> None:
        super().backfill_started(indexes)
        self._totals_wanted = list(indexes)
        if self._lines is not None:
            self._lines.restart()
        self._log(logging.INFO, "backfill started", indexes=list(indexes))

    def index_seeded(self, index: str) -> None:
        super().index_seeded(index)
        with self._output:
            self._finished.add(index)
        self._log(logging.INFO, "index seeded", index=index, documents=self.backfill.get(index, 0))

    def live_started(self) -> None:
        super().live_started()
        self._log(logging.INFO, "following live changes")

    def batch_flushed(self, stats: BatchStats) -> None:
        super().batch_flushed(stats)
        logger.debug("batch flushed", extra={"changes": stats.changes, "documents": dict(stats.documents),
                                             "build_ms": round(stats.build_seconds * 1000, 2),
                                             "flush_ms": round(stats.flush_seconds * 1000, 2)})

    def document_quarantined(self, index: str, id: str, reason: str) -> None:
        super().document_quarantined(index, id, reason)
        self._log(logging.WARNING, "document quarantined", index=index, id=id, reason=reason)

    def error(self, error: BaseException) -> None:
        self._log(logging.ERROR, f"run failed: {error}")

    def report_if_due(self) -> None:
        """Called from the main thread: on a terminal, redraw the backfill lines; otherwise (and
        once live) one summary line per interval."""
        if self._lines is not None and self._totals_wanted is not None and not self.live.is_set():
            self._draw_backfill()
            return
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
        self._log(logging.INFO, "progress", **facts)

    def _draw_backfill(self) -> None:
        assert self._lines is not None and self._totals_wanted is not None
        if self._lines.totals is None:  # once, off the engine's threads
            self._lines.totals = self._totals(self._totals_wanted) if self._totals is not None else {}
        _, _, backfill, _ = self.snapshot()
        with self._output:
            self._lines.draw({name: backfill.get(name, 0) for name in self._totals_wanted if name not in self._finished})
