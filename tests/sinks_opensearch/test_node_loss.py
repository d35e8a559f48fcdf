"""What the sink does when a node takes the only copy of a shard with it (see lifecycle.py).

A red index is made here without losing a node: an index whose primary may only live on a node
that does not exist. The whole story, with a node really lost, is in tests/e2e/test_node_loss.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from opensearchpy import OpenSearch

from flusso_engine.errors import FlushError, SinkError
from flusso_engine.model import DocId, Document
from flusso_engine.sinks.opensearch import OpenSearchSink
from flusso_engine.sinks.opensearch.bulk import classify

from tests.sinks_opensearch.conftest import USERS_MAPPING, user, users_spec

#: A short client timeout: OpenSearch then waits half of it for a missing primary.
TIMEOUT_SECS = 2


def _lose_primaries(client: OpenSearch, prefix: str, generation: str) -> None:
    """Make generation `generation` of users red, as if the one node holding it were gone."""
    index = f"{prefix}users_{generation}"
    client.indices.delete(index=index)
    client.indices.create(index=index, wait_for_active_shards=0, body={
        "settings": {"index": {"number_of_replicas": 0, "routing.allocation.require._name": "no-such-node"}},
        "mappings": USERS_MAPPING,
        "aliases": {f"{index}_write": {}},
    })


@pytest.mark.parametrize(("status", "error_type", "transient"), [
    (503, "unavailable_shards_exception", True),  # the primary stayed missing while OpenSearch waited
    (503, "cluster_block_exception", True),  # no cluster manager elected yet
    (400, "index_closed_exception", False),
])
def test_an_index_wide_item_failure_fails_the_flush_as_transient_when_its_status_says_later(
    status: int, error_type: str, transient: bool
) -> None:
    item = {"_id": "1", "status": status, "error": {"type": error_type, "reason": "r"}}
    with pytest.raises(FlushError) as raised:
        classify(Document(DocId("users", ("1",)), b"{}"), item)
    assert raised.value.transient is transient


def test_a_write_to_a_shard_without_a_primary_fails_the_flush_before_the_client_times_out(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    sink = make_sink(timeout_secs=TIMEOUT_SECS, max_retries=0)
    sink.ensure_index(users_spec())
    _lose_primaries(opensearch_client, index_prefix, "aaaa1111_1")
    sink.write([user(1)])
    started = time.monotonic()
    with pytest.raises(FlushError, match="unavailable_shards_exception") as raised:
        sink.flush(caught_up=False).result()
    assert raised.value.transient
    assert time.monotonic() - started < TIMEOUT_SECS


def test_a_red_generation_being_built_is_replaced_on_ensure(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    make_sink(timeout_secs=TIMEOUT_SECS).ensure_index(users_spec())
    _lose_primaries(opensearch_client, index_prefix, "aaaa1111_1")
    restarted = make_sink(timeout_secs=TIMEOUT_SECS)
    restarted.ensure_index(users_spec())
    assert not restarted.is_seeded("users")
    assert set(opensearch_client.indices.get_alias(index=f"{index_prefix}users_*")) == {f"{index_prefix}users_aaaa1111_2"}
    assert set(opensearch_client.indices.get_alias(name=f"{index_prefix}users")) == {f"{index_prefix}users_aaaa1111_2"}


def test_a_generation_given_up_while_its_backfill_ran_is_not_promoted(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    filling = make_sink()
    filling.ensure_index(users_spec("aaaa1111"))
    make_sink().ensure_index(users_spec("bbbb2222"))  # gives generation 1 up for generation 2
    filling.write([user(1)])
    filling.flush(caught_up=False).result()
    with pytest.raises(SinkError, match="given up") as raised:
        filling.mark_seeded("users")
    assert raised.value.transient
    assert not make_sink().is_seeded("users")
    assert set(opensearch_client.indices.get_alias(name=f"{index_prefix}users")) == {f"{index_prefix}users_bbbb2222_2"}


def test_a_generation_given_up_while_its_backfill_ran_takes_no_checkpoint(make_sink: Callable[..., OpenSearchSink]) -> None:
    filling = make_sink()
    filling.ensure_index(users_spec("aaaa1111"))
    replacing = make_sink()
    replacing.ensure_index(users_spec("bbbb2222"))
    with pytest.raises(SinkError, match="given up"):
        filling.save_checkpoint("users", {"after": ["41"]})
    assert replacing.checkpoint("users") is None
