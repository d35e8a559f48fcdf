"""The run's metrics count what a flush indexed once the flush completed, never before."""

from __future__ import annotations

import threading

from flusso_engine.metrics import RunMetrics
from flusso_engine.model import DocId, Document

from tests.engine.fakes import Journal, RecordingSink


def written(metrics: RunMetrics) -> float | None:
    return metrics.registry.get_sample_value("flusso_documents_written_total")


def test_documents_are_counted_once_their_flush_completed() -> None:
    metrics, held = RunMetrics(), threading.Event()
    sink = metrics.measured_sink(RecordingSink(Journal(), completion_gate=held))
    sink.write([Document(DocId("users", ("1",)), b"{}"), Document(DocId("users", ("2",)), b"{}")])

    flush = sink.flush(caught_up=False)
    assert written(metrics) == 0
    held.set()
    flush.result()

    assert written(metrics) == 2
