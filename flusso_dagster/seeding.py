"""`is_seeded` lives in the index asset's materialization metadata.

Inside Dagster the engine's "does this index need a backfill?" is answered here: seeded when the
latest materialization says so for the current mapping hash *and* the physical index is still
there. Deleting the index in OpenSearch, or changing the schema, makes it unseeded again.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import dagster as dg
from opensearchpy import OpenSearch

from flusso_engine.sinks.forwarding import RebuildSink
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


class MetadataSeededSink(RebuildSink):
    """A sink whose `is_seeded` answers from Dagster's metadata, and which starts the rebuilds
    (reseeds) it is given; everything else goes to the wrapped sink unchanged."""

    def __init__(self, inner: Sink, seeded: Callable[[str], bool], reseed: Collection[str] = ()) -> None:
        super().__init__(inner, reseed)
        self._seeded = seeded

    def is_seeded(self, index: str) -> bool:
        return index not in self.rebuild and self._seeded(index)
