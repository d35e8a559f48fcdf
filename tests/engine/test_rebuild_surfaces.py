"""A long rename shows while it is worked through: the documents its rebuild has still to build
are on the status snapshot and the metrics, and go back to 0 when it is done."""

from __future__ import annotations

from flusso_engine.metrics import RunMetrics
from flusso_engine.progress import Progress
from flusso_engine.status import RunStatus


def pending_gauge(metrics: RunMetrics, index: str) -> float | None:
    return metrics.registry.get_sample_value("flusso_rebuild_pending_documents", {"index": index})


def test_the_status_snapshot_shows_each_index_documents_left_to_rebuild() -> None:
    progress = Progress()
    status = RunStatus(["users", "products"], progress)

    progress.rebuilds_pending({"products": 3_840})

    indexes = status.to_json()["indexes"]
    assert indexes["products"]["rebuild_pending"] == 3_840
    assert indexes["users"]["rebuild_pending"] == 0


def test_the_status_snapshot_shows_no_documents_left_once_the_rebuilds_are_done() -> None:
    progress = Progress()
    status = RunStatus(["products"], progress)

    progress.rebuilds_pending({"products": 3_840})
    progress.rebuilds_pending({})

    assert status.to_json()["indexes"]["products"]["rebuild_pending"] == 0


def test_the_metrics_gauge_follows_the_documents_left_to_rebuild_back_to_zero() -> None:
    metrics = RunMetrics()

    metrics.rebuilds_pending({"products": 3_840, "orders": 512})
    assert pending_gauge(metrics, "products") == 3_840
    metrics.rebuilds_pending({"orders": 256})
    assert (pending_gauge(metrics, "products"), pending_gauge(metrics, "orders")) == (0, 256)
