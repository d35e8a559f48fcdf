"""Bulk requests are capped by document count and by bytes; the body bytes go in untouched."""

from __future__ import annotations

import time

from opensearchpy import OpenSearch

from flusso_engine.model import DocId, Document
from flusso_engine.sinks.opensearch.bulk import Action, encode, plan_chunks

from tests.sinks_opensearch.conftest import user, users_spec


def _action(size: int) -> Action:
    return Document(DocId("users", ("1",)), b"{}"), b"x" * size


def test_chunks_are_capped_by_document_count() -> None:
    chunks = list(plan_chunks([_action(10)] * 25, max_docs=10, max_bytes=10_000))
    assert [len(chunk) for chunk in chunks] == [10, 10, 5]


def test_chunks_are_capped_by_bytes() -> None:
    chunks = list(plan_chunks([_action(400)] * 5, max_docs=100, max_bytes=1000))
    assert [len(chunk) for chunk in chunks] == [2, 2, 1]


def test_an_oversized_document_goes_alone() -> None:
    chunks = list(plan_chunks([_action(10), _action(5000), _action(10)], max_docs=100, max_bytes=1000))
    assert [[len(payload) for _, payload in chunk] for chunk in chunks] == [[10], [5000], [10]]


def test_the_body_goes_into_the_request_byte_for_byte() -> None:
    body = b'{"name":  "spaced \\u00e9",  "age":1}'
    _, payload = encode(Document(DocId("users", ("a:b",)), body, 7), "p_users_h_1")
    assert payload == (
        b'{"index":{"_index":"p_users_h_1","_id":"a:b","version":7,"version_type":"external_gte"}}\n' + body + b"\n"
    )


def test_a_body_with_line_breaks_is_put_on_one_line() -> None:
    _, payload = encode(Document(DocId("users", ("1",)), b'{"a":\n 1}', 1), "i")
    assert payload.count(b"\n") == 2


def test_a_flush_split_into_many_parallel_requests_writes_every_document(make_sink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink = make_sink(batch_size=7, max_bytes=600, concurrency=3)
    sink.ensure_index(users_spec())
    sink.write(user(i) for i in range(250))
    report = sink.flush(caught_up=True).result()
    assert (report.written, report.rejected) == (250, ())
    assert opensearch_client.count(index=f"{index_prefix}users")["count"] == 250


def test_full_requests_leave_before_the_flush(make_sink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink = make_sink(batch_size=10)
    sink.ensure_index(users_spec())
    sink.write(user(i) for i in range(25))
    deadline = time.monotonic() + 10
    while not opensearch_client.exists(index=f"{index_prefix}users", id="0") and time.monotonic() < deadline:
        time.sleep(0.05)  # a realtime get sees the write as soon as its request ended
    assert opensearch_client.exists(index=f"{index_prefix}users", id="0")
    assert not opensearch_client.exists(index=f"{index_prefix}users", id="24")  # the tail waits for flush
    sink.flush(caught_up=False).result()
    assert opensearch_client.exists(index=f"{index_prefix}users", id="24")


def test_documents_written_after_a_flush_belong_to_the_next_one(make_sink) -> None:
    sink = make_sink(batch_size=7, concurrency=2)
    sink.ensure_index(users_spec())
    sink.write(user(i) for i in range(30))
    first = sink.flush(caught_up=False)
    sink.write([user(100), user(101, age="not a number")])
    second = sink.flush(caught_up=True)
    report = first.result()
    assert (report.written, report.rejected) == (30, ())
    report = second.result()
    assert report.written == 1
    assert [rejection.id for rejection in report.rejected] == [DocId("users", ("101",))]


def test_a_flush_is_done_once_its_requests_ended(make_sink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink = make_sink(batch_size=7, concurrency=2)
    sink.ensure_index(users_spec())
    sink.write(user(i) for i in range(30))
    flush = sink.flush(caught_up=False)
    deadline = time.monotonic() + 10
    while not flush.done() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert flush.done()
    assert opensearch_client.exists(index=f"{index_prefix}users", id="29")
    assert flush.result().written == 30
