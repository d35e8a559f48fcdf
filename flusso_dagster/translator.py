"""How flusso indexes and their source tables appear in Dagster: keys, groups, kinds, owners.

Subclass FlussoTranslator and pass it to `build_definitions` to change any of it; the pattern
follows Dagster's own integrations (one `get_asset_spec` per external object).
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

from flusso_engine.model import TableRef
from flusso_engine.schema import Index


@dataclass(frozen=True)
class FlussoTranslator:
    index_group: str = "search_indexes"
    table_group: str = "postgres_tables"

    def get_index_key(self, index: Index) -> dg.AssetKey:
        return dg.AssetKey(["opensearch", index.name])

    def get_table_key(self, table: TableRef) -> dg.AssetKey:
        return dg.AssetKey(["postgres", table.schema, table.name])

    def get_asset_spec(self, index: Index, tables: list[TableRef]) -> dg.AssetSpec:
        return dg.AssetSpec(
            key=self.get_index_key(index),
            deps=[self.get_table_key(table) for table in tables],
            group_name=self.index_group,
            kinds={"opensearch", "postgres"},
            tags={"flusso/index": index.name},
            description=(
                f"OpenSearch index `{index.name}`, kept in sync with `{index.root}` by flusso "
                f"(schema {index.schema_path.name}). Materializing creates the mapping and backfills it; "
                "run config `reseed: true` rebuilds it as a new generation without read downtime."
            ),
            metadata={"root_table": str(index.root), "schema_file": str(index.schema_path), "mapping_hash": index.content_hash},
        )

    def get_table_spec(self, table: TableRef) -> dg.AssetSpec:
        return dg.AssetSpec(
            key=self.get_table_key(table),
            group_name=self.table_group,
            kinds={"postgres"},
            description=f"Postgres table `{table}`, read by flusso indexes.",
        )
