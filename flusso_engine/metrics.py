"""Prometheus metrics of a run, in a registry of the run's own (tests run several at once).

The engine's events feed the counters and the latency histograms; the flushes' own reports
(through MeasuredSink) say how many documents were indexed and deleted, which the events do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from flusso_engine.model import FlushReport
from flusso_engine.observer import BatchStats, NullObserver
from flusso_engine.sinks.forwarding import ForwardingSink
from flusso_engine.sinks.protocol import Flushing, Sink

#: Seconds, from a single-document flush on a local node to a backlog after an outage.
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)


class RunMetrics(NullObserver):
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.changes_applied = Counter("flusso_changes_applied", "Changes flushed to the sink and confirmed", registry=r)
        self.batches = Counter("flusso_batches", "Batches flushed", registry=r)
        self.documents_built = Counter("flusso_documents_built", "Documents built and flushed", ["index"], registry=r)
        self.documents_written = Counter("flusso_documents_written", "Documents the sink indexed", registry=r)
        self.documents_deleted = Counter("flusso_documents_deleted", "Documents the sink deleted", registry=r)
        self.documents_quarantined = Counter(
            "flusso_documents_quarantined", "Documents the sink rejected under on_error=skip", ["index"], registry=r
        )
        self.indexes_seeded = Counter("flusso_indexes_seeded", "Backfills completed", ["index"], registry=r)
        self.errors = Counter("flusso_errors", "Errors that stopped the run", registry=r)
        self.flush_duration = Histogram(
            "flusso_flush_duration_seconds", "Time to make one batch durable in the sink", buckets=LATENCY_BUCKETS, registry=r
        )
        self.end_to_end_latency = Histogram(
            "flusso_end_to_end_latency_seconds", "From a batch's newest source commit to its flush",
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.slot_lag = Gauge("flusso_replication_slot_lag_bytes", "WAL bytes the slot has not confirmed", registry=r)
        self.rebuild_pending = Gauge(
            "flusso_rebuild_pending_documents", "Documents large live rebuilds have still to build", ["index"], registry=r
        )
        self._rebuilding: set[str] = set()

    def index_seeded(self, index: str) -> None:
        self.indexes_seeded.labels(index).inc()

    def batch_flushed(self, stats: BatchStats) -> None:
        self.changes_applied.inc(stats.changes)
        self.batches.inc()
        for index, count in stats.documents.items():
            self.documents_built.labels(index).inc(count)
        self.flush_duration.observe(stats.flush_seconds)
        if stats.newest_commit is not None:
            self.end_to_end_latency.observe(max(0.0, time.time() - stats.newest_commit))

    def document_quarantined(self, index: str, id: str, reason: str) -> None:
        self.documents_quarantined.labels(index).inc()

    def rebuilds_pending(self, documents: Mapping[str, int]) -> None:
        """An index the report leaves out goes back to 0: its rebuilds are done."""
        for index in self._rebuilding - documents.keys():
            self.rebuild_pending.labels(index).set(0)
        for index, count in documents.items():
            self.rebuild_pending.labels(index).set(count)
        self._rebuilding = set(documents)

    def error(self, error: BaseException) -> None:
        self.errors.inc()

    def measured_sink(self, sink: Sink) -> Sink:
        return MeasuredSink(sink, self)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MeasuredSink(ForwardingSink):
    """Counts what each successful flush indexed and deleted."""

    def __init__(self, inner: Sink, metrics: RunMetrics) -> None:
        super().__init__(inner)
        self._metrics = metrics

    def flush(self, caught_up: bool) -> Flushing:
        return _Counted(self.inner.flush(caught_up), self._metrics)


@dataclass(frozen=True, slots=True)
class _Counted:
    """A flush whose documents are counted once it succeeded."""

    flush: Flushing
    metrics: RunMetrics

    def done(self) -> bool:
        return self.flush.done()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        self.flush.add_done_callback(callback)

    def result(self) -> FlushReport:
        report = self.flush.result()
        self.metrics.documents_written.inc(report.written)
        self.metrics.documents_deleted.inc(report.deleted)
        return report
