"""Progress events the engine reports, for whoever shows them (CLI progress bars, Dagster events).

Observers are called synchronously on the engine's threads, so they must be cheap and must not
block; anything slow belongs behind a queue of the observer's own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BatchStats:
    """One flushed batch: what it carried and where its time went."""

    changes: int
    documents: Mapping[str, int]
    build_seconds: float
    flush_seconds: float
    #: Commit time (epoch seconds) of the newest change in the batch, when the source gives one:
    #: flush time minus this is the end-to-end latency of the batch.
    newest_commit: float | None = None

    @property
    def total_documents(self) -> int:
        return sum(self.documents.values())


class Observer(Protocol):
    def started(self) -> None:
        """The run began; nothing has touched the sink yet."""
        ...

    def index_ensured(self, index: str) -> None:
        """The sink has the index with its mapping."""
        ...

    def backfill_started(self, indexes: Sequence[str]) -> None:
        """These unseeded indexes are about to be seeded from a snapshot."""
        ...

    def backfill_progress(self, documents: Mapping[str, int]) -> None:
        """Documents seeded so far per index, cumulative; reported after each flushed backfill batch."""
        ...

    def index_seeded(self, index: str) -> None:
        """The index's backfill is flushed and recorded as seeded."""
        ...

    def live_started(self) -> None:
        """Backfill is over; changes now come from the live stream."""
        ...

    def batch_flushed(self, stats: BatchStats) -> None:
        """A batch is durable in the sink and its changes are confirmed."""
        ...

    def caught_up(self) -> None:
        """A flush left nothing waiting: the sink reflects every change captured so far."""
        ...

    def rebuilds_pending(self, documents: Mapping[str, int]) -> None:
        """Documents that large live rebuilds (a rename under thousands of rows) have still to
        build, per index; reported when that changes, empty once none is left."""
        ...

    def document_quarantined(self, index: str, id: str, reason: str) -> None:
        """The sink rejected a document of a `skip` index; the run went on without it."""
        ...

    def error(self, error: BaseException) -> None:
        """The run is failing with this error (it is raised right after)."""
        ...

    def stopped(self) -> None:
        """The run ended, by error, by stop() or because the capture ended; edges are closed."""
        ...


class NullObserver:
    """Ignores every event; subclass it to hear only the events you care about."""

    def started(self) -> None:
        pass

    def index_ensured(self, index: str) -> None:
        pass

    def backfill_started(self, indexes: Sequence[str]) -> None:
        pass

    def backfill_progress(self, documents: Mapping[str, int]) -> None:
        pass

    def index_seeded(self, index: str) -> None:
        pass

    def live_started(self) -> None:
        pass

    def batch_flushed(self, stats: BatchStats) -> None:
        pass

    def caught_up(self) -> None:
        pass

    def rebuilds_pending(self, documents: Mapping[str, int]) -> None:
        pass

    def document_quarantined(self, index: str, id: str, reason: str) -> None:
        pass

    def error(self, error: BaseException) -> None:
        pass

    def stopped(self) -> None:
        pass


class FanOutObserver:
    """Forwards every event to several observers, in the order given."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._observers = tuple(observers)

    def started(self) -> None:
        for observer in self._observers:
            observer.started()

    def index_ensured(self, index: str) -> None:
        for observer in self._observers:
            observer.index_ensured(index)

    def backfill_started(self, indexes: Sequence[str]) -> None:
        for observer in self._observers:
            observer.backfill_started(indexes)

    def backfill_progress(self, documents: Mapping[str, int]) -> None:
        for observer in self._observers:
            observer.backfill_progress(documents)

    def index_seeded(self, index: str) -> None:
        for observer in self._observers:
            observer.index_seeded(index)

    def live_started(self) -> None:
        for observer in self._observers:
            observer.live_started()

    def batch_flushed(self, stats: BatchStats) -> None:
        for observer in self._observers:
            observer.batch_flushed(stats)

    def caught_up(self) -> None:
        for observer in self._observers:
            observer.caught_up()

    def rebuilds_pending(self, documents: Mapping[str, int]) -> None:
        for observer in self._observers:
            observer.rebuilds_pending(documents)

    def document_quarantined(self, index: str, id: str, reason: str) -> None:
        for observer in self._observers:
            observer.document_quarantined(index, id, reason)

    def error(self, error: BaseException) -> None:
        for observer in self._observers:
            observer.error(error)

    def stopped(self) -> None:
        for observer in self._observers:
            observer.stopped()
