"""`is_seeded` lives in the index asset's materialization metadata.

Inside Dagster the engine's "does this index need a backfill?" is answered here: seeded when the
latest materialization says so for the current mapping hash *and* the physical index is still
there. Deleting the index in OpenSearch, or changing the schema, makes it unseeded again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

import dagster as dg
from opensearchpy import OpenSearch

from flusso_engine.model import Document, FlushReport, IndexSpec
from flusso_engine.sinks.protocol import Sink

IS_SEEDED = "is_seeded"
MAPPING_HASH = "mapping_hash"


def seeded_in_metadata(instance: dg.DagsterInstance, key: dg.AssetKey, content_hash: str) -> bool:
    """Whether the latest materialization of `key` recorded a seeded index of this mapping."""
    event = instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return False
    metadata = event.asset_materialization.metadata
    seeded = metadata.get(IS_SEEDED)
    recorded_hash = metadata.get(MAPPING_HASH)
    return bool(seeded is not None and seeded.value) and recorded_hash is not None and recorded_hash.value == content_hash


def index_exists(client: OpenSearch | None, alias: str) -> bool:
    """Whether the index behind `alias` exists; without an OpenSearch sink there is nothing to lose."""
    return True if client is None else bool(client.indices.exists(index=alias))


class MetadataSeededSink:
    """A sink whose `is_seeded` answers from Dagster, and which starts requested reseeds.

    Everything else goes to the wrapped sink unchanged. A reseed is started right after the
    index is ensured, so the rebuild is a new generation the wrapped sink swaps in when seeded.
    """

    def __init__(self, inner: Sink, seeded: Callable[[str], bool], reseed: Collection[str] = ()) -> None:
        self._inner = inner
        self._seeded = seeded
        self._reseed = frozenset(reseed)
        self.persistent = inner.persistent

    def ensure_index(self, index: IndexSpec) -> None:
        self._inner.ensure_index(index)
        if index.name in self._reseed:
            self._inner.reindex(index.name)

    def is_seeded(self, index: str) -> bool:
        return index not in self._reseed and self._seeded(index)

    def mark_seeded(self, index: str) -> None:
        self._inner.mark_seeded(index)

    def write(self, documents: Iterable[Document]) -> None:
        self._inner.write(documents)

    def flush(self, caught_up: bool) -> FlushReport:
        return self._inner.flush(caught_up)

    def reindex(self, index: str) -> None:
        self._inner.reindex(index)

    def close(self) -> None:
        self._inner.close()
