"""How one bulk item's answer is judged, and how long a retry waits (pure rules, no node)."""

from __future__ import annotations

import pytest

from flusso_engine.errors import FlushError
from flusso_engine.model import DocId, Document
from flusso_engine.sinks.opensearch.bulk import classify
from flusso_engine.sinks.opensearch.retry import Backoff

UPSERT = Document(DocId("users", ("1",)), b"{}")
DELETE = Document(DocId("users", ("1",)), None)


def _item(status: int, error_type: str | None = None) -> dict:
    return {"_id": "1", "status": status} | ({"error": {"type": error_type, "reason": "r"}} if error_type else {})


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_item_is_retried(status: int) -> None:
    assert classify(UPSERT, _item(status, "es_rejected_execution_exception")) == "busy"


def test_a_delete_of_a_missing_document_is_a_success() -> None:
    assert classify(DELETE, _item(404)) == "ok"


def test_a_version_conflict_from_the_stale_write_guard_is_a_success_that_was_superseded() -> None:
    assert classify(UPSERT, _item(409, "version_conflict_engine_exception")) == "superseded"


def test_a_mapping_error_is_a_rejection() -> None:
    assert classify(UPSERT, _item(400, "mapper_parsing_exception")) == "rejected"


def test_a_missing_target_index_is_gone_not_a_rejection() -> None:
    assert classify(UPSERT, _item(404, "index_not_found_exception")) == "gone"


def test_an_index_wide_failure_fails_the_flush() -> None:
    with pytest.raises(FlushError):
        classify(UPSERT, _item(400, "index_closed_exception"))


def test_backoff_grows_exponentially_with_jitter_within_bounds() -> None:
    backoff = Backoff(max_retries=5, base_secs=0.2, cap_secs=30)
    for attempt in range(5):
        step = 0.2 * 2**attempt
        assert step / 2 <= backoff.pause(attempt) <= step


def test_backoff_honours_a_longer_retry_after() -> None:
    assert Backoff(max_retries=3).pause(0, retry_after=4.0) == 4.0
