"""Two sinks on one prefix stand for two processes: a reseed in one, the live job in the other.

Neither tells the other anything; all they share is OpenSearch (the meta state and the indexes).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from opensearchpy import OpenSearch

from flusso_engine.errors import FlushError
from flusso_engine.sinks.opensearch import OpenSearchSettings, OpenSearchSink
from flusso_engine.sinks.opensearch.sink import NOTICE_MARGIN_SECS

from tests.sinks_opensearch.conftest import USERS_MAPPING, user, users_spec

NEVER = 3600.0  # a state refresh interval no test outlives


class CountingClient(OpenSearch):
    """The real client, counting the multi-gets that re-read the sink's state."""

    mgets = 0

    def mget(self, *args: Any, **kwargs: Any) -> Any:
        self.mgets += 1
        return super().mget(*args, **kwargs)


def _live(make_sink: Callable[..., OpenSearchSink], **overrides: Any) -> OpenSearchSink:
    """The live job's sink: the index ensured and seeded, one flush behind it."""
    sink = make_sink(**overrides)
    sink.ensure_index(users_spec())
    sink.write([user("seed")])
    sink.flush(caught_up=True).result()
    sink.mark_seeded("users")
    return sink


def _reseed(make_sink: Callable[..., OpenSearchSink]) -> OpenSearchSink:
    """The reseeding job's sink, with a new generation started (its backfill not run yet)."""
    sink = make_sink()
    sink.ensure_index(users_spec())
    sink.reindex("users")
    return sink


def _physical(client: OpenSearch, prefix: str) -> set[str]:
    return set(client.indices.get(index=f"{prefix}*", expand_wildcards="all"))


def _has(client: OpenSearch, index: str, key: str) -> bool:
    return bool(client.exists(index=index, id=key))


def test_a_writer_behind_a_promotion_writes_to_the_new_generation_and_creates_no_index(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    live = _live(make_sink, state_refresh_seconds=NEVER)  # only a vanished target makes it re-read
    reseed = _reseed(make_sink)
    reseed.write([user("backfilled", version=2)])
    reseed.flush(caught_up=False).result()
    reseed.mark_seeded("users")  # generation 1, which `live` still writes to, is deleted
    live.write([user("late", version=3)])
    report = live.flush(caught_up=True).result()
    assert (report.written, report.rejected) == (1, ())
    assert _has(opensearch_client, f"{index_prefix}users_aaaa1111_2", "late")
    assert _physical(opensearch_client, index_prefix) == {f"{index_prefix}flusso_meta", f"{index_prefix}users_aaaa1111_2"}
    mapping = opensearch_client.indices.get_mapping(index=f"{index_prefix}users_*")
    assert {index: found["mappings"] for index, found in mapping.items()} == {f"{index_prefix}users_aaaa1111_2": USERS_MAPPING}


def test_a_write_after_another_process_started_a_build_reaches_both_generations(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    live = _live(make_sink)
    _reseed(make_sink)  # returns once the refresh interval has passed
    live.write([user("live", version=5)])
    live.flush(caught_up=True).result()
    for generation in (1, 2):
        assert _has(opensearch_client, f"{index_prefix}users_aaaa1111_{generation}", "live")


def test_the_state_is_not_reread_before_the_refresh_interval(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    live = _live(make_sink, state_refresh_seconds=NEVER)
    _reseed(make_sink)
    live.write([user("live", version=5)])
    live.flush(caught_up=True).result()
    assert _has(opensearch_client, f"{index_prefix}users_aaaa1111_1", "live")
    assert not _has(opensearch_client, f"{index_prefix}users_aaaa1111_2", "live")


@pytest.fixture
def counting_client(settings: OpenSearchSettings) -> Iterator[CountingClient]:
    client = CountingClient(hosts=[settings.url])
    yield client
    client.close()


def test_flushes_within_the_refresh_interval_read_the_state_once(
    settings: OpenSearchSettings, counting_client: CountingClient, index_prefix: str
) -> None:
    sink = OpenSearchSink(replace(settings, state_refresh_seconds=NEVER), index_prefix, client=counting_client)
    sink.ensure_index(users_spec())
    for key in range(5):
        sink.write([user(key)])
        sink.flush(caught_up=False).result()
    assert counting_client.mgets == 1


def test_a_write_after_the_refresh_interval_reads_the_state_again(
    settings: OpenSearchSettings, counting_client: CountingClient, index_prefix: str
) -> None:
    sink = OpenSearchSink(replace(settings, state_refresh_seconds=0.3), index_prefix, client=counting_client)
    sink.ensure_index(users_spec())
    sink.write([user(1)])
    time.sleep(0.4)
    sink.write([user(2)])
    sink.flush(caught_up=False).result()
    assert counting_client.mgets == 2


def test_a_live_writer_running_through_a_reseed_creates_no_index_and_misses_no_later_write(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    live = _live(make_sink)
    noticed = threading.Event()  # set when the reseed's reindex returned
    stop = threading.Event()
    after_notice: list[str] = []
    errors: list[Exception] = []

    def keep_writing() -> None:
        for number in itertools.count():
            if stop.is_set():
                return
            key, late = f"live-{number}", noticed.is_set()
            try:
                live.write([user(key, version=10 + number)])
                live.flush(caught_up=False).result()
            except Exception as error:  # noqa: BLE001 - any failure is what the test looks for
                errors.append(error)
                return
            if late:
                after_notice.append(key)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        reseed = _reseed(make_sink)
        noticed.set()
        reseed.write(user(f"backfilled-{key}", version=2) for key in range(100))
        reseed.flush(caught_up=False).result()
        reseed.mark_seeded("users")
        time.sleep(0.5)  # the live sink keeps writing past the deletion of generation 1
    finally:
        stop.set()
        writer.join()
    assert errors == []
    assert _physical(opensearch_client, index_prefix) == {f"{index_prefix}flusso_meta", f"{index_prefix}users_aaaa1111_2"}
    mapping = opensearch_client.indices.get_mapping(index=f"{index_prefix}users_*")
    assert {index: found["mappings"] for index, found in mapping.items()} == {f"{index_prefix}users_aaaa1111_2": USERS_MAPPING}
    found = opensearch_client.mget(index=f"{index_prefix}users_aaaa1111_2", body={"ids": after_notice})["docs"]
    assert after_notice and all(doc["found"] for doc in found)


def test_a_reindex_returns_only_once_other_sinks_can_have_noticed_it(make_sink: Callable[..., OpenSearchSink], settings: OpenSearchSettings) -> None:
    _live(make_sink)
    started = time.monotonic()
    _reseed(make_sink)
    assert time.monotonic() - started >= settings.state_refresh_seconds + NOTICE_MARGIN_SECS - 0.05


def test_a_generation_deleted_outside_flusso_fails_the_flush_and_is_not_recreated(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    live = _live(make_sink)
    opensearch_client.indices.delete(index=f"{index_prefix}users_aaaa1111_1")
    live.write([user("orphan", version=2)])
    with pytest.raises(FlushError, match="deleted outside flusso"):
        live.flush(caught_up=False).result()
    assert _physical(opensearch_client, index_prefix) == {f"{index_prefix}flusso_meta"}


def test_a_generation_made_before_write_aliases_gets_one_on_ensure(
    make_sink: Callable[..., OpenSearchSink], opensearch_client: OpenSearch, index_prefix: str
) -> None:
    _live(make_sink)
    opensearch_client.indices.delete_alias(index=f"{index_prefix}users_aaaa1111_1", name=f"{index_prefix}users_aaaa1111_1_write")
    restarted = make_sink()
    restarted.ensure_index(users_spec())
    restarted.write([user("after-upgrade", version=2)])
    assert restarted.flush(caught_up=True).result().rejected == ()
    assert _has(opensearch_client, f"{index_prefix}users_aaaa1111_1", "after-upgrade")
