"""One asset per enabled index: materializing it creates the mapping and backfills the index.

Run config `reseed: true` rebuilds the index as a new generation while the old one keeps serving
reads, and swaps the alias when the new one is seeded. A plain materialization of a seeded index
writes nothing: backfill is the sink's call, answered from this asset's own metadata.
"""


import time
from collections.abc import Sequence
from typing import Any

import dagster as dg
import pandas as pd
from opensearchpy import OpenSearch
from pydantic import Field

from flusso_engine.backends import build_engine, tables_read
from flusso_engine.capture.position import slot_position
from flusso_engine.capture.slot import format_lsn
from flusso_engine.progress import Progress
from flusso_engine.runner import EngineThread
from flusso_engine.schema import Config, Index
from flusso_dagster.resources import FlussoResource, opensearch_client
from flusso_dagster.seeding import IS_SEEDED, MAPPING_HASH, MetadataSeededSink, index_exists, seeded_in_metadata
from flusso_dagster.translator import FlussoTranslator

SAMPLE_SIZE = 5
PROGRESS_EVERY_S = 10.0


class SeedConfig(dg.Config):
    reseed: bool = Field(False, description="Rebuild the index from scratch as a new generation (no read downtime).")


def seed_op_name(index: Index) -> str:
    return f"seed_{index.name}"


def seed_index(
    context: dg.AssetExecutionContext, flusso: FlussoResource, index_name: str, key: dg.AssetKey, reseed: bool
) -> dict[str, Any]:
    """Ensure the mapping and seed `index_name` if it needs it; returns the materialization metadata."""
    started = time.monotonic()
    config = flusso.load()
    index = next(i for i in config.enabled_indexes() if i.name == index_name)
    alias = f"{flusso.prefix(config)}{index.name}"
    client = opensearch_client(config)
    try:
        seeded = seeded_in_metadata(context.instance, key, index.content_hash) and index_exists(client, alias)
        progress = Progress()
        engine = build_engine(
            config, flusso.options(), only=[index.name], observer=progress,
            wrap_sink=lambda sink: MetadataSeededSink(sink, lambda _: seeded, reseed=[index.name] if reseed else []),
        )
        worker = EngineThread(engine, live=False).start()
        try:
            while not worker.wait(PROGRESS_EVERY_S):
                context.log.info(f"backfill of {index.name}: {progress.snapshot()[2].get(index.name, 0)} documents so far")
        finally:
            worker.stop()
        documents = progress.snapshot()[2].get(index.name, 0)
        elapsed = time.monotonic() - started
        context.log.info(f"{index.name}: {'reseeded' if reseed else 'seeded' if documents else 'already seeded'}; "
                         f"{documents} documents in {elapsed:.1f}s")
        return {
            IS_SEEDED: True,
            MAPPING_HASH: index.content_hash,
            "reseed": reseed,
            "documents_written": dg.MetadataValue.int(documents),
            "duration_s": dg.MetadataValue.float(round(elapsed, 3)),
            "docs_per_s": dg.MetadataValue.float(round(documents / elapsed, 1) if elapsed else 0.0),
            "source_lsn": _confirmed_lsn(config, flusso.slot),
            **index_facts(client, alias),
        }
    finally:
        if client is not None:
            client.close()


def _confirmed_lsn(config: Config, slot: str) -> str:
    """Where the slot stands: the documents reflect the source at least up to here."""
    confirmed = slot_position(config.source.url.get_secret_value(), slot).confirmed
    return format_lsn(confirmed) if confirmed is not None else "no slot yet"


def index_facts(client: OpenSearch | None, alias: str) -> dict[str, Any]:
    """Generation, document count and a small sample, read back from OpenSearch."""
    if client is None:
        return {}
    client.indices.refresh(index=alias)
    physical = sorted(client.indices.get_alias(index=alias))
    hits = client.search(index=alias, body={"size": SAMPLE_SIZE, "sort": ["_doc"]})["hits"]["hits"]
    return {
        "physical_index": ", ".join(physical),
        "generation": dg.MetadataValue.int(int(physical[-1].rsplit("_", 1)[-1])) if physical and physical[-1].rsplit("_", 1)[-1].isdigit() else "unknown",
        "doc_count": dg.MetadataValue.int(client.count(index=alias)["count"]),
        "sample": sample_table(hits),
    }


def sample_table(hits: list[dict[str, Any]]) -> dg.TableMetadataValue:
    """A few documents, flattened to columns (nested arrays shown as JSON text)."""
    frame = pd.json_normalize([{"_id": hit["_id"], **hit["_source"]} for hit in hits], max_level=1)
    frame = frame.map(lambda v: v if isinstance(v, (str, int, float, bool)) or v is None else str(v))
    columns = [dg.TableColumn(str(name), "string") for name in frame.columns]
    records = [dg.TableRecord({str(k): ("" if v is None or v != v else str(v)) for k, v in row.items()}) for row in frame.to_dict("records")]
    return dg.MetadataValue.table(records=records, schema=dg.TableSchema(columns=columns))


def build_index_assets(indexes: Sequence[Index], translator: FlussoTranslator) -> list[dg.AssetsDefinition]:
    return [_index_asset(index, translator) for index in indexes]


def _index_asset(index: Index, translator: FlussoTranslator) -> dg.AssetsDefinition:
    spec = translator.get_asset_spec(index, sorted(tables_read([index])))

    @dg.multi_asset(specs=[spec], name=seed_op_name(index))
    def _seed(context: dg.AssetExecutionContext, config: SeedConfig, flusso: FlussoResource) -> dg.MaterializeResult:
        metadata = seed_index(context, flusso, index.name, spec.key, config.reseed)
        return dg.MaterializeResult(asset_key=spec.key, metadata=metadata)

    return _seed
