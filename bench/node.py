"""Where the node's time goes: its own counters of indexing, refresh, merge and GC time.

OpenSearch CPU alone says the engine's documents cost the node more than the raw loop's; these
counters say on what. They are milliseconds spent in each operation (summed over the threads
doing it), not CPU, so they can add up to more than the wall time of a run.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

from bench.readings import Readings

_STATS = "/_nodes/stats/indices,jvm"


@dataclass(frozen=True)
class NodeWork(Readings):
    indexing_ms: float
    refresh_ms: float
    merge_ms: float
    flush_ms: float
    gc_ms: float
    refreshes: int
    merges: int

    def per_document(self, documents: int) -> str:
        """µs of each operation per document, and how many refreshes and merges ran."""
        scale = 1000 / documents
        return (f"indexing {self.indexing_ms * scale:.0f}, refresh {self.refresh_ms * scale:.0f}, merge "
                f"{self.merge_ms * scale:.0f}, flush {self.flush_ms * scale:.0f}, GC {self.gc_ms * scale:.0f} µs "
                f"({self.refreshes} refreshes, {self.merges} merges)")


def node_work(url: str) -> NodeWork:
    """The counters so far, summed over every node behind `url`."""
    with urllib.request.urlopen(url + _STATS, timeout=30) as response:
        nodes = json.loads(response.read())["nodes"].values()
    total = [0.0] * 7
    for node in nodes:
        indices = node["indices"]
        gc = sum(collector["collection_time_in_millis"] for collector in node["jvm"]["gc"]["collectors"].values())
        for i, value in enumerate((
            indices["indexing"]["index_time_in_millis"], indices["refresh"]["total_time_in_millis"],
            indices["merges"]["total_time_in_millis"], indices["flush"]["total_time_in_millis"], gc,
            indices["refresh"]["total"], indices["merges"]["total"],
        )):
            total[i] += value
    return NodeWork(*total[:5], int(total[5]), int(total[6]))
