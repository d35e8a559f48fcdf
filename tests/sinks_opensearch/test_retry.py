"""A flush rides out a node that goes away and comes back, on a node of the test's own."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from dev.opensearch import LocalOpenSearch, temporary_cluster
from flusso_engine.model import FlushReport
from flusso_engine.sinks.opensearch import OpenSearchSettings, OpenSearchSink

from tests.sinks_opensearch.conftest import user, users_spec


@pytest.fixture
def own_node() -> Iterator[LocalOpenSearch]:
    with temporary_cluster("flusso-restart") as node:
        yield node


def _indexed_so_far(node: LocalOpenSearch) -> int:
    try:
        with urllib.request.urlopen(f"{node.url}/_stats/indexing", timeout=2) as response:
            return json.loads(response.read())["_all"]["primaries"]["indexing"]["index_total"]
    except OSError:
        return 0


def test_a_flush_rides_out_a_node_stopped_and_restarted_under_it(own_node: LocalOpenSearch) -> None:
    settings = OpenSearchSettings(url=own_node.url, number_of_replicas=0, max_retries=12, batch_size=50, concurrency=1)
    sink = OpenSearchSink(settings, "restart_")
    sink.ensure_index(users_spec())
    outcome: list[FlushReport | BaseException] = []

    def flush() -> None:
        try:
            sink.write(user(i) for i in range(20_000))  # full requests already leave while writing
            outcome.append(sink.flush(caught_up=True).result())
        except BaseException as error:  # noqa: BLE001 - handed to the test thread
            outcome.append(error)

    flusher = threading.Thread(target=flush)
    flusher.start()
    try:
        while _indexed_so_far(own_node) == 0:
            time.sleep(0.05)
        own_node.stop()
        assert flusher.is_alive(), "the flush ended before the node stopped; the test proves nothing"
        own_node.start()
    finally:
        flusher.join(timeout=300)
        sink.close()
    [report] = outcome
    assert isinstance(report, FlushReport) and report.written == 20_000
    assert OpenSearch(hosts=[own_node.url]).count(index="restart_users")["count"] == 20_000
