"""The execution machinery: one change stream through queue → resolve → build → sink → flush → ack.

Two threads per stream. The capture thread only moves changes into the bounded queue, so a slow
sink back-pressures the source instead of growing memory. The worker (the caller's thread) takes
a batch, resolves it to deduplicated document keys, builds each document once, writes and
flushes, and only then confirms the batch's acks: a crash anywhere before the confirm leaves the
whole batch to be redelivered, and redelivery is harmless because documents are rebuilt from the
current rows.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence

from flusso_engine.capture.protocol import ChangeCapture
from flusso_engine.documents.protocol import DocumentBuilder
from flusso_engine.errors import DocumentsRejected, QueueClosed
from flusso_engine.model import Change, Op, Rejection, RowKey, TableRef
from flusso_engine.observer import BatchStats, Observer
from flusso_engine.policy import BatchPolicy, FailurePolicies, FailurePolicy
from flusso_engine.queue.protocol import Queue
from flusso_engine.sinks.protocol import Sink

logger = logging.getLogger(__name__)

#: Documents built per builder call: large enough for one efficient query, small enough that
#: writing can start while the rest of a big batch is still being built.
BUILD_CHUNK = 1000


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
        self, changes: Iterator[Change], scope: Collection[str] | None = None, batch: BatchPolicy | None = None
    ) -> bool:
        """Drive `changes` to the sink until the stream ends or `stop` is called.

        `scope` limits the documents built to those indexes (a backfill seeds only the unseeded
        ones, even where a seeded index shares the snapshotted root table); it also marks the
        stream as finite, so it is caught up only at its end. `batch` overrides the batch policy
        for this stream (a backfill takes larger batches). Returns whether the stream was
        drained: every change flushed and confirmed. Raises the worker's error if any, else the
        capture's (after flushing and confirming what was already queued).
        """
        queue = self._queue_factory()
        with self._lock:
            if self._stopping:
                return False
            self._queue = queue
        feeder = _Feeder(changes, queue)
        feeder.start()
        try:
            self._work(queue, feeder, scope, batch or self._batch)
        except BaseException:
            queue.close()
            self._capture.stop()
            raise
        finally:
            feeder.join()
            with self._lock:
                self._queue = None
        if feeder.error is not None:
            raise feeder.error
        return feeder.exhausted and queue.empty()

    def _work(self, queue: Queue, feeder: _Feeder, scope: Collection[str] | None, batch_policy: BatchPolicy) -> None:
        take = queue.take
        max_changes = batch_policy.max_changes
        max_delay = batch_policy.max_delay
        seeded_rows: Counter[str] = Counter()
        while not self._stopping:
            batch = take(max_changes, max_delay)
            if not batch:
                return
            # Read `exhausted` before `empty`: once the feeder is done, emptiness is final.
            caught_up = (scope is None or feeder.exhausted) and queue.empty()
            documents = self._commit(batch, scope, caught_up)
            if scope is not None:
                seeded_rows.update(documents)
                self._observer.backfill_progress(dict(seeded_rows))
            if caught_up:
                self._observer.caught_up()

    def _commit(
        self, batch: list[Change], scope: Collection[str] | None, caught_up: bool
    ) -> dict[str, int]:
        """Resolve, build, write, flush, then confirm one batch; returns documents per index."""
        acks = [change.ack for change in batch]
        version = max([ack.lsn for ack in acks])
        started = time.perf_counter()
        truncated = {change.table for change in batch if change.op is Op.TRUNCATE}
        if truncated:
            self._empty_indexes_of(truncated, scope)
        documents: dict[str, int] = {}
        for index, keys in self._builder.resolve(batch).items():
            if not keys or (scope is not None and index not in scope):
                continue
            if len(keys) <= BUILD_CHUNK:
                self._sink.write(self._builder.build(index, keys, version))
            else:
                # A chunk at a time, in key order: the sink sends full bulk requests while the
                # next chunk is being built, so Postgres and OpenSearch work at the same time.
                ordered = sorted(keys, key=_key_order)
                for start in range(0, len(ordered), BUILD_CHUNK):
                    self._sink.write(self._builder.build(index, ordered[start:start + BUILD_CHUNK], version))
            documents[index] = len(keys)
        assembled = time.perf_counter()
        report = self._sink.flush(caught_up)
        flushed = time.perf_counter()
        if report.rejected:
            self._settle_rejections(report.rejected)
        self._capture.confirm(acks)
        commit_times = [change.commit_time for change in batch if change.commit_time is not None]
        self._observer.batch_flushed(
            BatchStats(
                len(batch), documents, assembled - started, flushed - assembled,
                max(commit_times) if commit_times else None,
            )
        )
        return documents

    def _empty_indexes_of(self, roots: set[TableRef], scope: Collection[str] | None) -> None:
        """A TRUNCATE of a root table empties its indexes: a fresh generation is started and
        made the serving one at once (readers see the table's new, empty state), and the rows
        inserted after the truncate are written into it by this and later batches. Truncates of
        other tables rebuild the affected documents through resolve like any change."""
        for spec in self._builder.indexes():
            if spec.root in roots and (scope is None or spec.name in scope):
                logger.info("root table %s truncated: emptying index %s", spec.root, spec.name)
                self._sink.reindex(spec.name)
                self._sink.mark_seeded(spec.name)

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
    return tuple((len(value), value) for value in key)


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
