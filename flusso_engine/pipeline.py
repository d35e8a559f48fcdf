"""The execution machinery: one change stream through queue → resolve → build → sink → flush → ack.

Three threads per stream. The capture thread only moves changes into the bounded queue, so a
slow sink back-pressures the source instead of growing memory. The worker (the caller's thread)
takes a batch, resolves it to deduplicated document keys and builds each document once. The
delivery thread (delivery.py) writes those documents, flushes, and only then confirms the
batch's acks, batch after batch in the order they were sealed, while the worker already builds
the next batch. (A live batch that rebuilds many documents is sealed only once its last chunk is
built, so the batches taken meanwhile are confirmed before it.) The capture passes a change only
once it and every change before it are confirmed, so a crash anywhere before a confirm leaves that
batch and every later one to be redelivered, and redelivery is harmless because documents are
rebuilt from the current rows.
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
from flusso_engine.model import Change, Lsn, Op, Rejection, RowKey, TableRef
from flusso_engine.observer import Observer
from flusso_engine.policy import BatchPolicy, FailurePolicies, FailurePolicy
from flusso_engine.queue.protocol import Queue
from flusso_engine.rebuilds import REBUILD_BACKLOG, REBUILD_CHUNK, Held, Rebuilds
from flusso_engine.sinks.protocol import Sink

logger = logging.getLogger(__name__)

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

        `scope` makes the stream a backfill's snapshot pages, built for those indexes only (a
        backfill seeds only the unseeded ones, even where a seeded index shares the snapshotted
        root table); such a stream is finite, so it is caught up only at its end. `batch`
        overrides the batch policy for this stream (a backfill takes a page per batch). `on_flushed` is called with each
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
        if scope is None:
            self._follow(queue, delivery, policy)
        else:
            self._seed(queue, feeder, delivery, scope, policy)

    def _seed(
        self, queue: Queue, feeder: _Feeder, delivery: Delivery, scope: Collection[str], policy: BatchPolicy
    ) -> None:
        """Backfill batches of snapshot pages, each built whole and sealed in the order taken: its
        checkpoints need every batch confirmed after the one before. A page is built for each
        index in `scope` whose root table it pages."""
        indexes: dict[TableRef, list[str]] = {}
        for spec in self._builder.indexes():
            if spec.name in scope:
                indexes.setdefault(spec.root, []).append(spec.name)
        while not self._stopping:
            delivery.begin_batch()  # before taking: changes wait in the queue, not in a held batch
            if self._stopping:
                return
            batch = queue.take(policy.max_changes, policy.max_delay, policy.idle_delay, delivery.idle)
            if not batch:
                return
            # Read `exhausted` before `empty`: once the feeder is done, emptiness is final.
            caught_up = feeder.exhausted and queue.empty()
            started = time.perf_counter()
            version = _version(batch)
            documents: dict[str, int] = {}
            for page in batch:
                for index in indexes.get(page.table, ()):
                    built = self._builder.build_page(index, page.old_key, page.key, version)
                    delivery.send(built)
                    documents[index] = documents.get(index, 0) + len(built)
            delivery.send(Seal(batch, documents, time.perf_counter() - started, caught_up))

    def _follow(self, queue: Queue, delivery: Delivery, policy: BatchPolicy) -> None:
        """Live batches. Each turn takes the changes waiting (if any), builds their documents and
        seals them, then builds one chunk of the oldest large rebuild and seals that: so a change
        that asks for no large rebuild itself waits for at most one chunk of any, however many
        renames come one after another.
        Each seal is preceded by `begin_batch`, so at most `ahead` seals wait for their flush.
        The documents the rebuilds have still to build are reported whenever that changes."""
        rebuilds = Rebuilds()
        reported: dict[str, int] = {}
        while not self._stopping:
            delivery.begin_batch()  # before taking: changes wait in the queue, not in a held batch
            if self._stopping:
                return
            if not rebuilds:
                batch = queue.take(policy.max_changes, policy.max_delay, policy.idle_delay, delivery.idle)
                if not batch:
                    return
            elif rebuilds.backlog <= REBUILD_BACKLOG and not queue.empty():
                batch = queue.take(policy.max_changes, 0.0)
            else:
                batch = []
            sealed = bool(batch) and self._take_in(batch, queue.empty(), delivery, rebuilds)
            if rebuilds:
                if sealed:
                    delivery.begin_batch()  # the batch used this turn's seal; the chunk needs its own
                self._build_chunk(rebuilds, queue, delivery)
            if (pending := rebuilds.pending()) != reported:
                self._observer.rebuilds_pending(pending)
                reported = pending

    def _take_in(self, batch: list[Change], caught_up: bool, delivery: Delivery, rebuilds: Rebuilds) -> bool:
        """Build a live batch's documents and seal it, unless it rebuilds more than REBUILD_CHUNK
        documents of an index: then the changes of the tables that ask for such a rebuild are
        held (`_hold`), and only the rest of the batch is built and sealed now. Returns whether a
        seal was sent. `caught_up`: nothing waited once the batch was taken."""
        started = time.perf_counter()
        affected = self._affected(batch, delivery)
        if all(len(keys) <= REBUILD_CHUNK for keys in affected.values()):
            self._seal_now(batch, affected, caught_up, started, delivery)
            return True
        (now, now_affected), (later, later_affected) = self._hold_apart(batch, affected)
        if now:
            self._seal_now(now, now_affected, caught_up, started, delivery)
        if later:
            self._hold(later, later_affected, delivery, rebuilds)
        return bool(now)

    def _hold_apart(
        self, batch: list[Change], affected: dict[str, set[RowKey]]
    ) -> tuple[tuple[list[Change], dict[str, set[RowKey]]], tuple[list[Change], dict[str, set[RowKey]]]]:
        """The batch's changes to seal now and those to hold, with their documents, split by
        table: a price change taken together with a tag rename then waits for no rebuild. Each
        table's changes are resolved on their own, which only batches with a large rebuild pay.
        When no table's changes alone rebuild more than REBUILD_CHUNK documents, none are held."""
        tables = list(dict.fromkeys(change.table for change in batch))
        if len(tables) == 1:
            return ([], {}), (batch, affected)
        now: tuple[list[Change], dict[str, set[RowKey]]] = ([], {})
        later: tuple[list[Change], dict[str, set[RowKey]]] = ([], {})
        for table in tables:
            changes = [change for change in batch if change.table == table]
            resolved = {index: keys for index, keys in self._builder.resolve(changes).items() if keys}
            part = later if any(len(keys) > REBUILD_CHUNK for keys in resolved.values()) else now
            part[0].extend(changes)
            for index, keys in resolved.items():
                part[1].setdefault(index, set()).update(keys)
        return now, later

    def _seal_now(
        self, changes: list[Change], affected: dict[str, set[RowKey]], caught_up: bool, started: float,
        delivery: Delivery,
    ) -> None:
        version = _version(changes)
        for index, keys in affected.items():
            delivery.send(list(self._builder.build(index, keys, version)))
        documents = {index: len(keys) for index, keys in affected.items()}
        delivery.send(Seal(changes, documents, time.perf_counter() - started, caught_up))

    def _hold(
        self, changes: list[Change], affected: dict[str, set[RowKey]], delivery: Delivery, rebuilds: Rebuilds
    ) -> None:
        """Build the held changes' few documents of an index now, queue their large rebuilds, and
        leave their seal to the last chunk of those (`_build_chunk`)."""
        started = time.perf_counter()
        version = _version(changes)
        large = {index: keys for index, keys in affected.items() if len(keys) > REBUILD_CHUNK}
        for index, keys in affected.items():
            if index not in large:
                delivery.send(list(self._builder.build(index, keys, version)))
        documents = {index: len(keys) for index, keys in affected.items()}
        held = Held(changes, documents, time.perf_counter() - started, len(large))
        for index, keys in large.items():
            rebuilds.add(index, keys, version, held)

    def _build_chunk(self, rebuilds: Rebuilds, queue: Queue, delivery: Delivery) -> None:
        """Build and seal the next chunk of the oldest rebuild: its batch's seal when that was the
        batch's last chunk, else a seal that makes the chunk durable and confirms nothing."""
        started = time.perf_counter()
        rebuild, chunk = rebuilds.next_chunk()
        if chunk:
            delivery.send(list(self._builder.build(rebuild.index, chunk, rebuild.version)))
        held = rebuild.held
        held.build_seconds += time.perf_counter() - started
        if held.rebuilds:
            delivery.send(Seal((), {}, 0.0, False))
        else:
            delivery.send(Seal(held.changes, held.documents, held.build_seconds, queue.empty()))

    def _affected(self, batch: list[Change], delivery: Delivery) -> dict[str, set[RowKey]]:
        """The keys of the documents a live batch affects per index, after handing over the
        indexes a truncate in it emptied."""
        truncated = {change.table for change in batch if change.op is Op.TRUNCATE}
        if truncated:
            emptied = self._indexes_emptied_by(truncated)
            if emptied:
                delivery.send(Emptied(emptied))
        return {index: keys for index, keys in self._builder.resolve(batch).items() if keys}

    def _indexes_emptied_by(self, roots: set[TableRef]) -> tuple[str, ...]:
        """A TRUNCATE of a root table empties its indexes: the delivery starts a fresh generation
        and makes it the serving one at once (readers see the table's new, empty state), and the
        rows inserted after the truncate are written into it by this and later batches. Truncates
        of other tables rebuild the affected documents through resolve like any change."""
        emptied = tuple(spec.name for spec in self._builder.indexes() if spec.root in roots)
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


def _version(batch: Sequence[Change]) -> Lsn:
    """The version the batch's documents carry at least: its newest change's position."""
    return max(change.ack.lsn for change in batch)


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
