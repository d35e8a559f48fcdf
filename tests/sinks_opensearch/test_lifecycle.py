"""Generations, aliases and seeded state: reads never see a half-built index, state persists."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from opensearchpy import OpenSearch

from flusso_engine.errors import SinkError

from flusso_engine.sinks.opensearch import OpenSearchSink

from tests.sinks_opensearch.conftest import USERS_MAPPING, user, users_spec


def _holders(client: OpenSearch, alias: str) -> set[str]:
    return set(client.indices.get_alias(name=alias))


def _indexes(client: OpenSearch, prefix: str) -> set[str]:
    return {index for index in client.indices.get_alias(index=f"{prefix}users_*")}


def _seed(sink: OpenSearchSink, count: int = 3) -> None:
    sink.write(user(i) for i in range(count))
    sink.flush(caught_up=True).result()
    sink.mark_seeded("users")


def test_the_mapping_is_created_exactly_as_given(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    mapping = opensearch_client.indices.get_mapping(index=f"{index_prefix}users_aaaa1111_1")
    assert mapping[f"{index_prefix}users_aaaa1111_1"]["mappings"] == USERS_MAPPING


def test_a_full_index_body_keeps_its_settings_and_mappings(make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str) -> None:
    analysis = {"analyzer": {"folded": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "asciifolding"]}}}
    body = {"settings": {"analysis": analysis}, "mappings": USERS_MAPPING}
    make_sink().ensure_index(users_spec(mapping=body))
    index = f"{index_prefix}users_aaaa1111_1"
    assert opensearch_client.indices.get_mapping(index=index)[index]["mappings"] == USERS_MAPPING
    assert opensearch_client.indices.get_settings(index=index)[index]["settings"]["index"]["analysis"] == analysis


def test_ensure_index_is_idempotent(make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str) -> None:
    sink = make_sink()
    sink.ensure_index(users_spec())
    sink.ensure_index(users_spec())
    assert _indexes(opensearch_client, index_prefix) == {f"{index_prefix}users_aaaa1111_1"}
    assert _holders(opensearch_client, f"{index_prefix}users") == {f"{index_prefix}users_aaaa1111_1"}


def test_a_new_index_is_unseeded_until_marked(sink: OpenSearchSink) -> None:
    assert not sink.is_seeded("users")
    _seed(sink)
    assert sink.is_seeded("users")


def test_a_generation_being_seeded_loads_without_refresh_or_replicas_until_seeded(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    index = f"{index_prefix}users_aaaa1111_1"

    def settings() -> tuple[str, str]:
        found = opensearch_client.indices.get_settings(index=index)[index]["settings"]["index"]
        return found["refresh_interval"], found["number_of_replicas"]

    assert settings() == ("-1", "0")
    _seed(sink)
    assert settings() == ("10s", "0")  # the configured values (the fixture configures 0 replicas)


def test_seeded_state_survives_a_new_sink(make_sink: Callable[..., OpenSearchSink]) -> None:
    first = make_sink()
    first.ensure_index(users_spec())
    _seed(first)
    first.close()
    restarted = make_sink()
    restarted.ensure_index(users_spec())
    assert restarted.is_seeded("users")


def test_a_schema_change_keeps_the_convenience_alias_on_the_old_index_until_seeded(make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str) -> None:
    old = make_sink()
    old.ensure_index(users_spec("aaaa1111"))
    _seed(old)
    changed = make_sink()
    changed.ensure_index(users_spec("bbbb2222"))
    assert not changed.is_seeded("users")
    assert _holders(opensearch_client, f"{index_prefix}users") == {f"{index_prefix}users_aaaa1111_1"}
    _seed(changed)
    assert _holders(opensearch_client, f"{index_prefix}users") == {f"{index_prefix}users_bbbb2222_2"}
    assert _indexes(opensearch_client, index_prefix) == {f"{index_prefix}users_bbbb2222_2"}


def test_reindex_swaps_generations_and_drops_the_old_one_without_a_read_gap(
    sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    _seed(sink, count=50)
    errors: list[Exception] = []
    counts: list[int] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            for alias in (f"{index_prefix}users", f"{index_prefix}users_aaaa1111"):
                try:
                    counts.append(opensearch_client.search(index=alias, body={"size": 0})["hits"]["total"]["value"])
                except Exception as error:  # noqa: BLE001 - any failure is what the test looks for
                    errors.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        sink.reindex("users")
        assert not sink.is_seeded("users")
        assert _holders(opensearch_client, f"{index_prefix}users") == {f"{index_prefix}users_aaaa1111_1"}
        sink.write(user(i, version=2) for i in range(40))  # the rebuild's backfill
        sink.flush(caught_up=False).result()
        sink.mark_seeded("users")
    finally:
        stop.set()
        reader.join()
    assert errors == []
    assert counts and min(counts) > 0
    assert _holders(opensearch_client, f"{index_prefix}users") == {f"{index_prefix}users_aaaa1111_2"}
    assert _holders(opensearch_client, f"{index_prefix}users_aaaa1111") == {f"{index_prefix}users_aaaa1111_2"}
    assert _indexes(opensearch_client, index_prefix) == {f"{index_prefix}users_aaaa1111_2"}
    assert sink.is_seeded("users")


def test_live_writes_during_a_reindex_reach_both_generations(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    _seed(sink)
    sink.reindex("users")
    sink.write([user("live", version=5)])
    sink.flush(caught_up=True).result()
    for generation in (1, 2):
        assert opensearch_client.exists(index=f"{index_prefix}users_aaaa1111_{generation}", id="live")


def test_a_reindex_started_by_another_sink_continues_on_the_next_start(make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str) -> None:
    first = make_sink()
    first.ensure_index(users_spec())
    _seed(first)
    first.reindex("users")
    restarted = make_sink()
    restarted.ensure_index(users_spec())
    assert not restarted.is_seeded("users")
    assert _indexes(opensearch_client, index_prefix) == {f"{index_prefix}users_aaaa1111_1", f"{index_prefix}users_aaaa1111_2"}
    assert _holders(opensearch_client, f"{index_prefix}users") == {f"{index_prefix}users_aaaa1111_1"}


def test_a_reindex_before_ensure_index_is_refused(make_sink: Callable[..., OpenSearchSink]) -> None:
    first = make_sink()
    first.ensure_index(users_spec())
    _seed(first)
    with pytest.raises(SinkError, match="before ensure_index"):
        make_sink().reindex("users")


def test_generation_numbers_are_never_reused(sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str) -> None:
    _seed(sink)
    for _ in range(2):
        sink.reindex("users")
        _seed(sink)
    assert _indexes(opensearch_client, index_prefix) == {f"{index_prefix}users_aaaa1111_3"}
    opensearch_client.indices.delete(index=f"{index_prefix}users_aaaa1111_3")
    sink.ensure_index(users_spec())  # the serving index is gone: a new generation, not number 3
    assert _indexes(opensearch_client, index_prefix) == {f"{index_prefix}users_aaaa1111_4"}


def test_two_prefixes_are_isolated(make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str) -> None:
    other_prefix = f"{index_prefix}other_"
    try:
        mine, theirs = make_sink(), make_sink(prefix=other_prefix)
        for sink in (mine, theirs):
            sink.ensure_index(users_spec())
            _seed(sink, count=2)
        theirs.write([user("theirs-only")])
        theirs.flush(caught_up=True).result()
        mine.reindex("users")
        _seed(mine, count=1)
        assert opensearch_client.count(index=f"{index_prefix}users")["count"] == 1
        assert opensearch_client.count(index=f"{other_prefix}users")["count"] == 3
        assert _holders(opensearch_client, f"{other_prefix}users") == {f"{other_prefix}users_aaaa1111_1"}
        assert theirs.is_seeded("users")
    finally:
        opensearch_client.indices.delete(index=f"{other_prefix}*", ignore_unavailable=True)


def test_a_backfill_checkpoint_survives_a_new_sink_and_ends_with_the_build(make_sink: Callable[..., OpenSearchSink]) -> None:
    first = make_sink()
    first.ensure_index(users_spec())
    first.save_checkpoint("users", {"after": ["41"], "rows": 41})
    restarted = make_sink()
    restarted.ensure_index(users_spec())
    assert restarted.checkpoint("users") == {"after": ["41"], "rows": 41}
    _seed(restarted)
    assert restarted.checkpoint("users") is None


def test_a_checkpoint_for_an_index_seeded_already_is_ignored(make_sink: Callable[..., OpenSearchSink]) -> None:
    seeded = make_sink()
    seeded.ensure_index(users_spec())
    _seed(seeded)
    again = make_sink()
    again.ensure_index(users_spec())

    again.save_checkpoint("users", {"after": ["2"]})

    assert again.checkpoint("users") is None and again.is_seeded("users")
