"""Fan-out: one engine writing to several sinks at once.

Every call goes to every sink in order, and a flush fails if any sink's flush fails, so the batch
is redelivered to all of them (idempotent: documents are keyed and rebuilt). Seeding is decided by
the persistent sinks only: a sink that keeps nothing (stdout) always answers "unseeded", and
letting it vote would re-run the backfill on every start. Backfill checkpoints likewise live in
the persistent sinks, and a backfill resumes only from a checkpoint they all hold: each of them
then has every document up to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flusso_engine.model import Document, FlushReport, IndexSpec
from flusso_engine.sinks.protocol import Flushing, Sink, when_all_done


class FanOutSink:
    """Several sinks behaving as one."""

    def __init__(self, sinks: Sequence[Sink]) -> None:
        if not sinks:
            raise ValueError("FanOutSink needs at least one sink")
        self._sinks = tuple(sinks)
        self.persistent = any(sink.persistent for sink in self._sinks)
        self._keepers = tuple(sink for sink in self._sinks if sink.persistent)

    def ensure_index(self, index: IndexSpec) -> None:
        for sink in self._sinks:
            sink.ensure_index(index)

    def is_seeded(self, index: str) -> bool:
        """Seeded where it is kept: all persistent sinks agree, or all sinks if none persists."""
        judges = [sink for sink in self._sinks if sink.persistent] or self._sinks
        return all(sink.is_seeded(index) for sink in judges)

    def mark_seeded(self, index: str) -> None:
        for sink in self._sinks:
            sink.mark_seeded(index)

    def checkpoint(self, index: str) -> Any | None:
        """The checkpoint every persistent sink holds; None (start over) when they differ."""
        held = [sink.checkpoint(index) for sink in self._keepers]
        return held[0] if held and all(checkpoint == held[0] for checkpoint in held) else None

    def save_checkpoint(self, index: str, checkpoint: Any) -> None:
        for sink in self._keepers:
            sink.save_checkpoint(index, checkpoint)

    def reindex(self, index: str) -> None:
        for sink in self._sinks:
            sink.reindex(index)

    def write(self, documents: Iterable[Document]) -> None:
        batch = documents if isinstance(documents, (list, tuple)) else list(documents)
        for sink in self._sinks:
            sink.write(batch)

    def flush(self, caught_up: bool) -> Flushing:
        return _Together(tuple(sink.flush(caught_up) for sink in self._sinks))

    def close(self) -> None:
        """Close every sink, then raise the first failure, so one bad sink leaks no other."""
        failure: Exception | None = None
        for sink in self._sinks:
            try:
                sink.close()
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure


@dataclass(frozen=True, slots=True)
class _Together:
    """The flushes of every sink as one: complete when all are, failed when any is.

    Every sink's flush is waited for even after one failed, so none is left running behind
    the error."""

    flushes: tuple[Flushing, ...]

    def done(self) -> bool:
        return all(flush.done() for flush in self.flushes)

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        when_all_done(self.flushes, callback)

    def result(self) -> FlushReport:
        reports: list[FlushReport] = []
        failure: BaseException | None = None
        for flush in self.flushes:
            try:
                reports.append(flush.result())
            except BaseException as error:  # noqa: BLE001 - raised once every flush ended
                failure = failure or error
        if failure is not None:
            raise failure
        return FlushReport(
            written=sum(report.written for report in reports),
            deleted=sum(report.deleted for report in reports),
            rejected=tuple(rejection for report in reports for rejection in report.rejected),
        )
