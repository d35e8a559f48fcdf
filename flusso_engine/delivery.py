"""The delivery stage: writes built documents, flushes each batch, then confirms its acks.

It runs on a thread of its own so that the worker can resolve and build batch N+1 in Postgres
while this thread makes batch N durable in the sink. Batches arrive as a stream of items in
batch order (documents, then the batch's seal) through a small bounded hand-off, and one thread
handles them one after another, so flushes and confirms keep the order of the batches: a batch
is confirmed only after its own flush and after every earlier batch's confirm.

A seal starts the batch's flush without waiting for it: the next batch's documents are written
while the sink completes it, so the node indexes the tail of batch N and the head of batch N+1
together instead of idling at every boundary. Flushes under way are completed, oldest first, as
soon as they are done: each one's end puts a wake-up in the hand-off, so a thread with nothing
to write sleeps until a flush ends or an item arrives. It polled every 2 ms before: with 20 ms
flushes every 25 ms, the stage alone spent 34-44 ms of CPU a second polling against 20-21 with
wake-ups (2026-12-03), CPU that a 2-core machine's node and Postgres are short of under load.

After an error, the stage stops touching the sink and drops what is handed to it, and wakes the
worker (`on_failure` closes its queue, which an idle live stream would otherwise never refill);
the worker raises the error at its next hand-off or when it finishes. Nothing after the failed
batch is confirmed.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flusso_engine.capture.protocol import ChangeCapture
from flusso_engine.model import Change, Document, Rejection
from flusso_engine.observer import BatchStats, Observer
from flusso_engine.sinks.protocol import Flushing, Sink

#: Chunks of documents the worker may hand over before it waits: enough to keep the sink busy
#: while the next chunk is built, few enough to bound memory (a chunk is a snapshot page, or
#: up to REBUILD_CHUNK docs of a live batch).
HANDOFF_CHUNKS = 2

#: How often a worker blocked on the hand-off looks whether the stage failed meanwhile.
POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Emptied:
    """Indexes whose root table was truncated: the sink starts them over before later writes."""

    indexes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Seal:
    """The end of one batch: flush what was written, then confirm these changes.

    A seal without changes flushes and confirms nothing: a chunk of a large live rebuild, made
    durable before the next chunk is built (rebuilds.py). It reports no batch."""

    changes: Sequence[Change]
    documents: dict[str, int]
    build_seconds: float
    caught_up: bool


Item = Emptied | Seal | list[Document]
_END = object()
_WAKE = object()  # a flush ended: look at the oldest one again


@dataclass(frozen=True, slots=True)
class _Flushing:
    """A sealed batch whose flush is under way."""

    seal: Seal
    flush: Flushing
    started: float


class Delivery(threading.Thread):
    """Runs the write → flush → confirm half of the pipeline for one stream."""

    def __init__(
        self,
        sink: Sink,
        capture: ChangeCapture,
        observer: Observer,
        settle: Callable[[Sequence[Rejection]], None],
        on_failure: Callable[[], None],
        *,
        ahead: int,
        backfill: bool,
        on_flushed: Callable[[Sequence[Change]], None] | None = None,
        on_idle: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(name="flusso-delivery", daemon=True)
        self._sink = sink
        self._capture = capture
        self._observer = observer
        self._settle = settle
        self._on_failure = on_failure
        self._backfill = backfill
        self._on_flushed = on_flushed
        self._on_idle = on_idle
        # Batches sealed and not yet confirmed; only this thread's confirms make it reach zero.
        self._unconfirmed = 0
        self._unconfirmed_lock = threading.Lock()
        # Unbounded, so that a flush's wake-up never waits; `_room` bounds the worker's items.
        self._handoff: queue.Queue[object] = queue.Queue()
        self._room = threading.Semaphore(HANDOFF_CHUNKS)
        # One slot for the batch being flushed plus `ahead` for batches built meanwhile.
        self._slots = threading.Semaphore(ahead + 1)
        self._seeded: Counter[str] = Counter()
        self._flushing: deque[_Flushing] = deque()  # oldest first
        self.error: BaseException | None = None

    # The worker's side.

    def begin_batch(self) -> None:
        """Wait until fewer than `ahead` earlier batches are still waiting for their flush."""
        while not self._slots.acquire(timeout=POLL_SECONDS):
            self._raise_if_failed()
        self._raise_if_failed()

    def idle(self) -> bool:
        """Whether every batch sealed so far is confirmed: a batch closed now is flushed at once."""
        return self._unconfirmed == 0 and self.error is None

    def send(self, item: Item) -> None:
        """Hand over the next item, waiting while the hand-off is full."""
        if isinstance(item, Seal):
            with self._unconfirmed_lock:
                self._unconfirmed += 1
        while not self._room.acquire(timeout=POLL_SECONDS):
            self._raise_if_failed()
        self._raise_if_failed()
        self._handoff.put(item)

    def finish(self) -> None:
        """Deliver everything handed over so far, then end the thread; raises its error if any."""
        self._handoff.put(_END)
        self.join()
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    # The stage's own thread.

    def run(self) -> None:
        item: object = None
        try:
            while (item := self._next()) is not _END:
                self._deliver(item)
            self._complete_all()
        except BaseException as error:  # raised on the worker's thread
            self.error = error
            self._on_failure()
            while item is not _END:  # failed: drop the rest unconfirmed, so the worker never blocks
                item = self._handoff.get()

    def _next(self) -> object:
        """The next item handed over, completing the flushes under way as they end meanwhile."""
        while True:
            while self._flushing and self._flushing[0].flush.done():
                self._complete_oldest()
            item = self._handoff.get()
            if item is _END:
                return item
            if item is not _WAKE:
                self._room.release()
                return item

    def _deliver(self, item: object) -> None:
        if isinstance(item, list):
            self._sink.write(item)
        elif isinstance(item, Seal):
            started = time.perf_counter()
            flushing = _Flushing(item, self._sink.flush(item.caught_up), started)
            self._flushing.append(flushing)
            flushing.flush.add_done_callback(functools.partial(self._handoff.put, _WAKE))
        elif isinstance(item, Emptied):
            self._complete_all()  # what was written before goes to the generations it was aimed at
            for name in item.indexes:
                self._sink.reindex(name)
                self._sink.mark_seeded(name)

    def _complete_all(self) -> None:
        while self._flushing:
            self._complete_oldest()

    def _complete_oldest(self) -> None:
        flushing = self._flushing.popleft()
        report = flushing.flush.result()
        seal, flush_seconds = flushing.seal, time.perf_counter() - flushing.started
        if report.rejected:
            self._settle(report.rejected)
        self._capture.confirm([change.ack for change in seal.changes])
        self._slots.release()
        with self._unconfirmed_lock:
            self._unconfirmed -= 1
            idle = self._unconfirmed == 0
        if idle:
            self._on_idle()
        if not seal.changes:
            return
        commit_times = [change.commit_time for change in seal.changes if change.commit_time is not None]
        self._observer.batch_flushed(
            BatchStats(
                len(seal.changes), seal.documents, seal.build_seconds, flush_seconds,
                max(commit_times) if commit_times else None,
            )
        )
        if self._on_flushed is not None:
            self._on_flushed(seal.changes)
        if self._backfill:
            self._seeded.update(seal.documents)
            self._observer.backfill_progress(dict(self._seeded))
        if seal.caught_up:
            self._observer.caught_up()
