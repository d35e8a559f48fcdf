"""The end-to-end verdict: what OpenSearch holds equals a fresh build of every document.

Every root row of every index is built again from Postgres as it is now; OpenSearch must hold
exactly the documents that build to a body (same JSON), and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
import psycopg
from opensearchpy import OpenSearch, helpers
from psycopg import sql

from flusso_engine.backends import build_builder
from flusso_engine.schema import Config


@dataclass
class Difference:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.stale)


def _root_keys(dsn: str, table: str, schema: str, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    query = sql.SQL("SELECT {} FROM {}.{}").format(
        sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns),
        sql.Identifier(schema), sql.Identifier(table),
    )
    with psycopg.connect(dsn) as conn:
        return [tuple(row) for row in conn.execute(query)]


def compare(config: Config, client: OpenSearch, prefix: str) -> dict[str, Difference]:
    """Per index: ids missing from OpenSearch, ids it should not have, documents that differ."""
    dsn = config.source.url.get_secret_value()
    builder = build_builder(config, config.enabled_indexes())
    differences: dict[str, Difference] = {}
    try:
        for index in config.enabled_indexes():
            schema = index.index_schema
            keys = _root_keys(dsn, schema.table, schema.db_schema, schema.key_columns)
            expected = {doc.id.text: orjson.loads(doc.body) for doc in builder.build(index.name, keys, 0) if doc.body is not None}
            alias = f"{prefix}{index.name}"
            client.indices.refresh(index=alias)
            actual = {hit["_id"]: hit["_source"] for hit in helpers.scan(client, index=alias, query={"query": {"match_all": {}}})}
            differences[index.name] = Difference(
                missing=sorted(expected.keys() - actual.keys()),
                extra=sorted(actual.keys() - expected.keys()),
                stale=sorted(key for key in expected.keys() & actual.keys() if expected[key] != actual[key]),
            )
    finally:
        builder.close()
    return differences
