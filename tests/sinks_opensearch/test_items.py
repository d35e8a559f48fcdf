"""Per-document outcomes of a flush: what counts as success, what is a rejection, what fails it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from opensearchpy import OpenSearch

from flusso_engine.errors import FlushError
from flusso_engine.model import DocId
from flusso_engine.sinks.opensearch import OpenSearchSink
from flusso_engine.sinks.opensearch.bulk import BulkWriter
from flusso_engine.sinks.opensearch.retry import Backoff

from tests.sinks_opensearch.conftest import tombstone, user, users_spec


def _source(client: OpenSearch, prefix: str, key: str) -> dict | None:
    """The stored document, read by id: a GET is real-time, so it needs no refresh."""
    found = client.get(index=f"{prefix}users", id=key, ignore=404)
    return found["_source"] if found.get("found") else None


def test_deleting_a_missing_document_succeeds(sink: OpenSearchSink) -> None:
    sink.write([user(1), tombstone("never-written")])
    report = sink.flush(caught_up=True).result()
    assert (report.written, report.deleted, report.rejected) == (1, 1, ())


def test_a_delete_removes_the_document(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink.write([user(1, version=1)])
    sink.flush(caught_up=True).result()
    sink.write([tombstone(1, version=2)])
    sink.flush(caught_up=True).result()
    assert _source(opensearch_client, index_prefix, "1") is None


def test_a_mapping_conflict_is_a_rejection_with_status_and_reason(sink: OpenSearchSink) -> None:
    sink.write([user(1), user(2, age="not a number")])
    report = sink.flush(caught_up=True).result()
    assert report.written == 1
    [rejection] = report.rejected
    assert rejection.id == DocId("users", ("2",))
    assert rejection.status == 400
    assert "mapper_parsing_exception" in rejection.reason and "age" in rejection.reason


def test_a_closed_index_fails_the_flush(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    opensearch_client.indices.close(index=f"{index_prefix}users_*")
    sink.write([user(1)])
    with pytest.raises(FlushError, match="closed"):
        sink.flush(caught_up=False).result()


def test_a_stale_write_loses_to_the_newer_one_and_still_succeeds(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink.write([user(1, version=200, name="new")])
    sink.flush(caught_up=True).result()
    sink.write([user(1, version=100, name="old")])
    report = sink.flush(caught_up=True).result()
    assert (report.written, report.rejected) == (1, ())
    assert _source(opensearch_client, index_prefix, "1")["name"] == "new"


def test_a_stale_delete_does_not_remove_a_newer_document(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink.write([user(1, version=200)])
    sink.flush(caught_up=True).result()
    sink.write([tombstone(1, version=100)])
    assert sink.flush(caught_up=True).result().rejected == ()
    assert _source(opensearch_client, index_prefix, "1") is not None


def test_the_newest_version_in_one_flush_is_the_one_that_stands(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink.write([user(1, version=3, name="third"), user(1, version=1, name="first")])
    assert sink.flush(caught_up=True).result().rejected == ()
    assert _source(opensearch_client, index_prefix, "1")["name"] == "third"


def test_a_caught_up_flush_is_visible_to_search_at_once(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink.write([user(1)])
    sink.flush(caught_up=True).result()
    assert opensearch_client.count(index=f"{index_prefix}users")["count"] == 1


def test_caught_up_flushes_in_quick_succession_are_all_visible_within_the_visibility_period(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    sink = make_sink(visibility_seconds=1.0)
    sink.ensure_index(users_spec())
    started = time.monotonic()
    for key in range(5):
        sink.write([user(key)])
        sink.flush(caught_up=True).result()
    while opensearch_client.count(index=f"{index_prefix}users")["count"] < 5:
        assert time.monotonic() - started < 1.0 + 1.0, "a caught-up flush stayed invisible past the period"
        time.sleep(0.05)


def test_a_refused_request_fails_the_flush_at_once(opensearch_client: OpenSearch) -> None:
    writer = BulkWriter(opensearch_client.transport.get_connection(), backoff=Backoff(max_retries=5, base_secs=5), timeout_secs=10)
    started = time.monotonic()
    with pytest.raises(FlushError, match="HTTP 400"):
        writer.deliver([(user(1), b'{"not_an_action":{}}\n')])
    assert time.monotonic() - started < 2


def test_a_document_id_too_long_for_opensearch_is_a_rejection(sink: OpenSearchSink) -> None:
    sink.write([user(1), user("k" * 600)])
    report = sink.flush(caught_up=False).result()
    assert report.written == 1
    [rejection] = report.rejected
    assert rejection.id.key == ("k" * 600,) and rejection.status == 400 and "512" in rejection.reason
