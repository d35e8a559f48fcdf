"""A multi-node OpenSearch cluster starts here, for the failure tests that need one, and one of
its nodes can be stopped and started again while the others keep serving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opensearchpy import OpenSearch

from dev.opensearch import LocalOpenSearch, temporary_cluster


@pytest.fixture(scope="module")
def three_nodes() -> Iterator[LocalOpenSearch]:
    with temporary_cluster("flusso-three", nodes=3, heap="1500m") as cluster:
        yield cluster


def _node_names(url: str) -> set[str]:
    client = OpenSearch(hosts=[url])
    try:
        return {node["name"] for node in client.cat.nodes(format="json")}
    finally:
        client.close()


def test_a_three_node_cluster_shows_all_nodes(three_nodes: LocalOpenSearch) -> None:
    assert _node_names(three_nodes.url) == {"Node 1", "Node 2", "Node 3"}


def test_a_stopped_node_leaves_the_cluster_and_rejoins_when_started(three_nodes: LocalOpenSearch) -> None:
    three_nodes.stop_node(2)
    assert _node_names(three_nodes.node_url(3)) == {"Node 1", "Node 3"}
    three_nodes.start_node(2)
    assert _node_names(three_nodes.url) == {"Node 1", "Node 2", "Node 3"}
