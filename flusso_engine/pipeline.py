"""The execution machinery: one change stream through queue → resolve → build → sink → flush → ack.

Three threads per stream. The capture thread only moves changes into the bounded queue, so a
slow sink back-pressures the source instead of growing memory. The worker (the caller's thread)
takes a batch, resolves it to deduplicated document keys and builds each document once. The
delivery thread (delivery.py) writes those documents, flushes, and only then confirms the
batch's acks, batch after batch in the order they were sealed, while the worker already builds
the next batch. (A batch served between the chunks of a large live rebuild is sealed, and so
confirmed, before that rebuild.) The capture passes a change only once it and every change before
it are confirmed, so a crash anywhere before a confirm leaves that batch and every later one to
be redelivered, and redelivery is harmless because documents are rebuilt from the current rows.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence

from flusso_engine.capture.protocol import ChangeCapture
from flusso_engine.delivery import Delivery, Emptied, Seal
from flusso_engine.documents.protocol import DocumentBuilder
from flusso_engine.errors import DocumentsRejected, QueueClosed
from flusso_engine.model import Change, Op, Rejection, RowKey, TableRef
from flusso_engine.observer import Observer
from flusso_engine.policy import BatchPolicy, FailurePolicies, FailurePolicy
from flusso_engine.queue.protocol import Queue
from flusso_engine.sinks.protocol import Sink

logger = logging.getLogger(__name__)

#: Documents built per builder call: a backfill batch in one call, which the Postgres builder
#: streams from one statement (a quarter less engine CPU per document than calls of 1000, B1), and
#: small enough that writing starts while the rest of a huge live batch is still being built.
BUILD_CHUNK = 8192

#: A live batch that rebuilds more documents of one index than this (a category renamed under
#: thousands of products) builds them this many at a time and flushes each chunk before building
#: the next, serving the changes that arrived meanwhile between two chunks (`_serve_waiting`).
#: Otherwise every later change waited for the whole rebuild's flush: 1.5-2 s for 2,700-4,300
#: product documents under the B3 load, which alone made its p99.
REBUILD_CHUNK = 256


class Pipeline:
    """Drives change streams through the edges; `pump` one stream at a time, `stop` from anywhere."""

    def __init__(
        self,
        capture: ChangeCapture,
        builder: DocumentBuilder,
        sink: Sink,
        *,
        queue_factory: Callable[[], Queue],
        batch: BatchPolicy,
        failures: FailurePolicies,
        observer: Observer,
    ) -> None:
        self._capture = capture
        self._builder = builder
        self._sink = sink
        self._queue_factory = queue_factory
        self._batch = batch
        self._failures = failures
        self._observer = observer
        self._lock = threading.Lock()
        self._stopping = False
        self._queue: Queue | None = None

    @property
    def stopping(self) -> bool:
        return self._stopping

    def stop(self) -> None:
        """Stop taking changes. The batch in flight still flushes and confirms; what is still
        queued is dropped unconfirmed, to be redelivered by the next run."""
        with self._lock:
            self._stopping = True
            queue = self._queue
        if queue is not None:
            queue.close()
        self._capture.stop()

    def pump(
        self,
        changes: Iterator[Change],
        scope: Collection[str] | None = None,
        batch: BatchPolicy | None = None,
        on_flushed: Callable[[Sequence[Change]], None] | None = None,
    ) -> bool:
        """Drive `changes` to the sink until the stream ends or `stop` is called.

        `scope` limits the documents built to those indexes (a backfill seeds only the unseeded
        ones, even where a seeded index shares the snapshotted root table); it also marks the
        stream as finite, so it is caught up only at its end. `batch` overrides the batch policy
        for this stream (a backfill takes larger batches). `on_flushed` is called with each
        batch's changes once they are flushed and confirmed, in batch order, on the delivery
        thread. Returns whether the stream was drained: every change flushed and confirmed.
        Raises the worker's or the delivery's error if any, else the capture's (after flushing
        and confirming what was already queued).
        """
        queue = self._queue_factory()
        with self._lock:
            if self._stopping:
                return False
            self._queue = queue
        policy = batch or self._batch
        delivery = Delivery(
            self._sink, self._capture, self._observer, self._settle_rejections, queue.close,
            ahead=policy.ahead, backfill=scope is not None, on_flushed=on_flushed, on_idle=queue.nudge,
        )
        feeder = _Feeder(changes, queue)
        feeder.start()
        delivery.start()
        try:
            self._work(queue, feeder, delivery, scope, policy)
            delivery.finish()
        except BaseException:
            queue.close()
            self._capture.stop()
            with contextlib.suppress(BaseException):  # the worker's error is the one to raise
                delivery.finish()
            raise
        finally:
            feeder.join()
            with self._lock:
                self._queue = None
        if feeder.error is not None:
            raise feeder.error
        return feeder.exhausted and queue.empty()

    def _work(
        self, queue: Queue, feeder: _Feeder, delivery: Delivery, scope: Collection[str] | None, policy: BatchPolicy
    ) -> None:
        take = queue.take
        # Only a live stream serves changes between the chunks of a large rebuild, and only with a
        # delivery slot to spare beside the rebuild's own: a backfill's checkpoints need its
        # batches confirmed in order, and with `ahead` 0 the served batch would wait for a slot
        # that only the rebuild it interrupts can free.
        serving = scope is None and policy.ahead > 0
        while not self._stopping:
            delivery.begin_batch()  # before taking: changes wait in the queue, not in a held batch
            if self._stopping:
                return
            batch = take(policy.max_changes, policy.max_delay, policy.idle_delay, delivery.idle)
            if not batch:
                return
            # Read `exhausted` before `empty`: once the feeder is done, emptiness is final.
            caught_up = (scope is None or feeder.exhausted) and queue.empty()
            between = (lambda: self._serve_waiting(queue, delivery, policy)) if serving else None
            self._build(batch, scope, caught_up, delivery, between)

    def _serve_waiting(self, queue: Queue, delivery: Delivery, policy: BatchPolicy) -> None:
        """Between two chunks of a large rebuild, build the changes waiting behind it as a batch
        of its own. That batch is flushed with the rebuild's next chunk and confirmed before the
        rebuild's own changes, which the acks allow: the slot still passes those only once the
        whole rebuild is durable. Its own large rebuilds, if any, are built whole."""
        if self._stopping or queue.empty():
            return
        delivery.begin_batch()  # waits for the chunk before to be flushed: the sink sets the pace
        batch = queue.take(policy.max_changes, 0.0)
        if batch:
            self._build(batch, None, queue.empty(), delivery)

    def _build(
        self, batch: list[Change], scope: Collection[str] | None, caught_up: bool, delivery: Delivery,
        between_chunks: Callable[[], None] | None = None,
    ) -> None:
        """Resolve and build one batch, handing its documents and then its seal to `delivery`.

        With `between_chunks`, an index's documents beyond REBUILD_CHUNK are built a chunk at a
        time, each chunk flushed (confirming nothing) before the next is built, and
        `between_chunks` is called after each of those flushes is handed over."""
        version = max(change.ack.lsn for change in batch)
        started = time.perf_counter()
        paused = 0.0  # time spent serving other batches and waiting for chunk flushes
        truncated = {change.table for change in batch if change.op is Op.TRUNCATE}
        if truncated:
            emptied = self._indexes_emptied_by(truncated, scope)
            if emptied:
                delivery.send(Emptied(emptied))
        documents: dict[str, int] = {}
        for index, keys in self._builder.resolve(batch).items():
            if not keys or (scope is not None and index not in scope):
                continue
            chunk = BUILD_CHUNK if between_chunks is None else REBUILD_CHUNK
            if len(keys) <= chunk:
                delivery.send(list(self._builder.build(index, keys, version)))
            else:
                # A chunk at a time, in key order: the sink sends full bulk requests while the
                # next chunk is being built, so Postgres and OpenSearch work at the same time.
                ordered = sorted(keys, key=_key_order)
                for start in range(0, len(ordered), chunk):
                    if start and between_chunks is not None:
                        pause = time.perf_counter()
                        delivery.begin_batch()
                        delivery.send(Seal((), {}, 0.0, False))  # flush the chunk before, confirm nothing
                        between_chunks()
                        paused += time.perf_counter() - pause
                    delivery.send(list(self._builder.build(index, ordered[start:start + chunk], version)))
            documents[index] = len(keys)
        delivery.send(Seal(batch, documents, time.perf_counter() - started - paused, caught_up))

    def _indexes_emptied_by(self, roots: set[TableRef], scope: Collection[str] | None) -> tuple[str, ...]:
        """A TRUNCATE of a root table empties its indexes: the delivery starts a fresh generation
        and makes it the serving one at once (readers see the table's new, empty state), and the
        rows inserted after the truncate are written into it by this and later batches. Truncates
        of other tables rebuild the affected documents through resolve like any change."""
        emptied = tuple(
            spec.name for spec in self._builder.indexes()
            if spec.root in roots and (scope is None or spec.name in scope)
        )
        for name in emptied:
            logger.info("a root table was truncated: emptying index %s", name)
        return emptied

    def _settle_rejections(self, rejected: Sequence[Rejection]) -> None:
        """Stop if any rejected document's index says so, before quarantining any: the batch is
        then redelivered whole, and a `skip` document in it must not be reported twice."""
        stopping = [r for r in rejected if self._failures.resolve(r.id.index) is FailurePolicy.STOP]
        if stopping:
            first = stopping[0]
            raise DocumentsRejected(len(stopping), f"{first.id.index}/{first.id.text}: {first.reason}")
        for rejection in rejected:
            logger.warning(
                "quarantined %s/%s: %s", rejection.id.index, rejection.id.text, rejection.reason
            )
            self._observer.document_quarantined(
                rejection.id.index, rejection.id.text, rejection.reason
            )


def _key_order(key: RowKey) -> tuple[tuple[int, str], ...]:
    """Numeric order for integer keys in text form (shorter first), a stable order for any
    other: neighbouring keys then share chunks, which a builder can read as one key range."""
    return tuple([(len(value), value) for value in key])  # a list first: 0.6 µs a key less than a generator


class _Feeder(threading.Thread):
    """The capture thread: moves the stream into the queue, blocking while it is full."""

    def __init__(self, changes: Iterator[Change], queue: Queue) -> None:
        super().__init__(name="flusso-capture", daemon=True)
        self._changes = changes
        self._queue = queue
        self.exhausted = False
        self.error: BaseException | None = None

    def run(self) -> None:
        put = self._queue.put
        try:
            for change in self._changes:
                put(change)
            self.exhausted = True
        except QueueClosed:
            pass  # the worker is stopping; what this thread held is redelivered
        except BaseException as error:  # handed to the worker's thread, which raises it
            self.error = error
        finally:
            self._queue.close()
