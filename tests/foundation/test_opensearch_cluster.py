"""A multi-node OpenSearch cluster starts here, for the failure tests that need one."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from opensearchpy import OpenSearch

from dev.home import free_port
from dev.opensearch import LocalOpenSearch


def test_a_three_node_cluster_shows_all_nodes() -> None:
    base = Path(tempfile.mkdtemp(prefix="flusso-test-os3-"))
    cluster = LocalOpenSearch(base=base, base_port=free_port(9210, 9290, span=4), nodes=3, heap="1500m", cluster_name=f"flusso-three-{os.getpid()}")
    try:
        cluster.start()
        client = OpenSearch(hosts=[cluster.url])
        nodes = client.cat.nodes(format="json")
        assert len(nodes) == 3
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
