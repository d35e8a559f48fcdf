"""The Engine: mapping first, then backfill of what the sink reports unseeded, then live capture.

The order is the contract. Every index is ensured before any write, so the destination uses the
configured field types instead of guessing them. Whether an index needs seeding is the sink's
call, not the source's: the destination knows what it holds. And live capture starts only after
the backfill, from a position the capture fixed before taking its snapshot, so nothing committed
during the backfill is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from flusso_engine.capture.protocol import ChangeCapture
from flusso_engine.checkpoints import CheckpointKeeper, resume_points
from flusso_engine.documents.protocol import DocumentBuilder
from flusso_engine.model import IndexSpec
from flusso_engine.observer import NullObserver, Observer
from flusso_engine.pipeline import Pipeline
from flusso_engine.policy import BACKFILL_BATCH, BatchPolicy, FailurePolicies
from flusso_engine.queue.channel import ChannelQueue
from flusso_engine.queue.protocol import Queue
from flusso_engine.sinks.protocol import Sink

logger = logging.getLogger(__name__)

DEFAULT_QUEUE_CAPACITY = 1024


class Engine:
    """One run of sync over the given edges. `run` once; `stop` from any thread to end it."""

    def __init__(
        self,
        capture: ChangeCapture,
        builder: DocumentBuilder,
        sink: Sink,
        *,
        queue_factory: Callable[[int], Queue] = ChannelQueue,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        batch: BatchPolicy | None = None,
        backfill_batch: BatchPolicy = BACKFILL_BATCH,
        failures: FailurePolicies | None = None,
        observer: Observer | None = None,
        skip_backfill: bool = False,
    ) -> None:
        self._capture = capture
        self._builder = builder
        self._sink = sink
        self._observer: Observer = observer or NullObserver()
        self._skip_backfill = skip_backfill
        self._backfill_batch = backfill_batch
        self._pipeline = Pipeline(
            capture,
            builder,
            sink,
            queue_factory=lambda: queue_factory(queue_capacity),
            batch=batch or BatchPolicy(),
            failures=failures or FailurePolicies(),
            observer=self._observer,
        )

    def run(self, *, live: bool = True) -> None:
        """Ensure every index, seed the unseeded ones, then follow live changes until `stop` is
        called or the capture ends. Raises the error that stopped the run; whatever was not
        flushed stays unconfirmed and is redelivered by the next run. Closes the edges.

        `live=False` ends after the backfill: a seeding job (a Dagster materialization) that
        leaves following the stream to the live run."""
        self._observer.started()
        try:
            indexes = self._builder.indexes()
            for spec in indexes:
                self._sink.ensure_index(spec)
                self._observer.index_ensured(spec.name)
            if self._skip_backfill:
                logger.info("backfill skipped on request")
            else:
                self._backfill(indexes)
            if live and not self._pipeline.stopping:
                self._observer.live_started()
                self._pipeline.pump(self._capture.live())
        except BaseException as error:
            self._observer.error(error)
            raise
        finally:
            self._close_edges()
            self._observer.stopped()

    def stop(self) -> None:
        """End the run soon: the batch in flight finishes, nothing unflushed is confirmed."""
        self._pipeline.stop()

    def _backfill(self, indexes: Sequence[IndexSpec]) -> None:
        """Seed the indexes the sink reports unseeded, through the same queue, build, sink and ack
        path as live changes; the snapshot's pages name their documents, so they skip resolve.

        Each root table resumes after the checkpoint its indexes saved in an earlier run that did
        not finish, and a checkpoint is saved after every flushed batch (see checkpoints.py)."""
        unseeded = [spec for spec in indexes if not self._sink.is_seeded(spec.name)]
        if not unseeded:
            return
        names = [spec.name for spec in unseeded]
        roots = list(dict.fromkeys(spec.root for spec in unseeded))
        snapshot = self._capture.snapshot(roots, resume_points(self._sink, unseeded))
        self._observer.backfill_started(names)
        drained = self._pipeline.pump(
            snapshot, scope=frozenset(names), batch=self._backfill_batch,
            on_flushed=CheckpointKeeper(self._sink, unseeded),
        )
        if not drained:
            return  # stopped part-way: the indexes stay unseeded and are seeded again next run
        for name in names:
            self._sink.mark_seeded(name)
            self._observer.index_seeded(name)

    def _close_edges(self) -> None:
        """Close every edge even if one fails to: unconfirmed work is redelivered either way."""
        for edge in (self._capture, self._builder, self._sink):
            try:
                edge.close()
            except Exception:
                logger.exception("closing %s failed", type(edge).__name__)
