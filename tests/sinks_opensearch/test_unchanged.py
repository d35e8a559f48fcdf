"""A document whose body is already durable in its index is not sent again; what the sink
remembers is only ever what the index holds."""

from __future__ import annotations

from collections.abc import Callable

from opensearchpy import OpenSearch

from flusso_engine.model import DocId, Document
from flusso_engine.sinks.opensearch import OpenSearchSink
from flusso_engine.sinks.opensearch.unchanged import Unchanged

from tests.sinks_opensearch.conftest import tombstone, user, users_spec


def _durable(unchanged: Unchanged, *documents: Document) -> None:
    for document in documents:
        assert not unchanged.is_unchanged(document)
    unchanged.flushed(unchanged.seal(), [])


def test_a_body_flushed_before_is_unchanged() -> None:
    unchanged = Unchanged()
    _durable(unchanged, user(1))
    assert unchanged.is_unchanged(user(1, version=2))


def test_a_different_body_is_sent() -> None:
    unchanged = Unchanged()
    _durable(unchanged, user(1))
    assert not unchanged.is_unchanged(user(1, version=2, age=31))


def test_a_body_is_remembered_only_once_its_flush_succeeded() -> None:
    unchanged = Unchanged()
    assert not unchanged.is_unchanged(user(1))
    assert not unchanged.is_unchanged(user(1))
    unchanged.failed(unchanged.seal())
    unchanged.flushed(unchanged.seal(), [])
    assert not unchanged.is_unchanged(user(1))


def test_writing_a_different_body_forgets_the_old_one_even_if_its_flush_fails() -> None:
    unchanged = Unchanged()
    _durable(unchanged, user(1))
    assert not unchanged.is_unchanged(user(1, age=31))
    unchanged.failed(unchanged.seal())
    assert not unchanged.is_unchanged(user(1))


def test_an_earlier_flush_completing_does_not_vouch_for_a_body_written_over_since() -> None:
    unchanged = Unchanged()
    assert not unchanged.is_unchanged(user(1))
    earlier = unchanged.seal()
    assert not unchanged.is_unchanged(user(1, version=2, age=31))
    later = unchanged.seal()
    unchanged.flushed(earlier, [])
    assert not unchanged.is_unchanged(user(1, version=3))
    unchanged.failed(later)
    assert not unchanged.is_unchanged(user(1, version=3))


def test_a_document_is_remembered_once_its_own_flush_completes_behind_a_later_one() -> None:
    unchanged = Unchanged()
    assert not unchanged.is_unchanged(user(1))
    earlier = unchanged.seal()
    assert not unchanged.is_unchanged(user(2))
    unchanged.flushed(unchanged.seal(), [])
    assert not unchanged.is_unchanged(user(1, version=2))
    unchanged.flushed(earlier, [])
    assert unchanged.is_unchanged(user(2, version=2))


def test_a_rejected_or_superseded_document_is_not_remembered() -> None:
    unchanged = Unchanged()
    for key in (1, 2):
        assert not unchanged.is_unchanged(user(key))
    unchanged.flushed(unchanged.seal(), [DocId("users", ("1",)), DocId("users", ("2",))])
    assert not unchanged.is_unchanged(user(1))
    assert not unchanged.is_unchanged(user(2))


def test_a_delete_of_a_deleted_document_is_unchanged() -> None:
    unchanged = Unchanged()
    _durable(unchanged, tombstone(1))
    assert unchanged.is_unchanged(tombstone(1, version=2))
    assert not unchanged.is_unchanged(user(1, version=3))


def test_forgetting_an_index_drops_its_documents_only() -> None:
    unchanged = Unchanged()
    _durable(unchanged, user(1))
    orders = Document(DocId("orders", ("1",)), b"{}", 1)
    _durable(unchanged, orders)
    unchanged.forget("users")
    assert not unchanged.is_unchanged(user(1))
    assert unchanged.is_unchanged(orders)


def test_the_oldest_documents_are_forgotten_beyond_the_capacity() -> None:
    unchanged = Unchanged(capacity=2)
    _durable(unchanged, user(1), user(2))
    _durable(unchanged, user(3))
    assert [unchanged.is_unchanged(user(key)) for key in (2, 3)] == [True, True]
    assert not unchanged.is_unchanged(user(1))


def _version(client: OpenSearch, index: str, key: str) -> int:
    return int(client.get(index=index, id=key)["_version"])


def test_a_seeded_index_is_not_sent_a_body_it_holds(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink.mark_seeded("users")
    sink.write([user(1, version=5)])
    sink.flush(caught_up=False).result()
    sink.write([user(1, version=9)])
    report = sink.flush(caught_up=False).result()
    assert report.written == 1
    assert _version(opensearch_client, f"{index_prefix}users", "1") == 5


def test_a_seeded_index_is_sent_a_changed_body(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink.mark_seeded("users")
    sink.write([user(1, version=5)])
    sink.flush(caught_up=False).result()
    sink.write([user(1, version=9, age=31)])
    sink.flush(caught_up=False).result()
    assert _version(opensearch_client, f"{index_prefix}users", "1") == 9


def test_a_generation_being_built_is_sent_every_document(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    sink = make_sink()
    sink.ensure_index(users_spec())
    sink.mark_seeded("users")
    sink.write([user(1, version=5)])
    sink.flush(caught_up=False).result()
    sink.reindex("users")
    sink.write([user(1, version=9)])
    sink.flush(caught_up=False).result()
    assert _version(opensearch_client, f"{index_prefix}users_aaaa1111_2", "1") == 9
