"""The DocumentBuilder over Postgres: resolve by reverse lookups, build by server-side assembly."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from flusso_engine.documents.assemble import DocumentQuery, document_query
from flusso_engine.documents.catalog import Catalog
from flusso_engine.documents.plan import compile_plan, table_refs
from flusso_engine.documents.resolve import Resolver
from flusso_engine.documents.source import SourceConnection
from flusso_engine.documents.visibility import await_visible
from flusso_engine.model import Change, DocId, Document, IndexSpec, Lsn, RowKey
from flusso_engine.schema.index_yaml import IndexSchema

#: Rows the server hands over at a time while a document statement streams: enough to amortise
#: each hand-over, few enough that the first documents are worked on early.
STREAM_ROWS = 1000


_WAL_POSITION = "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"


class PostgresDocumentBuilder:
    """Builds the documents of the given indexes from one Postgres database.

    The schemas are compiled against the catalog once, here, so a table or column the database
    lacks fails at start-up. Not thread-safe; the engine has one worker.
    """

    def __init__(self, conninfo: str, indexes: Mapping[str, tuple[IndexSchema, IndexSpec]]) -> None:
        self._source = SourceConnection(conninfo)
        try:
            catalog = Catalog.load(self._source, {ref for schema, _ in indexes.values() for ref in table_refs(schema)})
            plans = {name: compile_plan(name, schema, catalog) for name, (schema, _) in indexes.items()}
        except BaseException:
            self._source.close()
            raise
        self._specs = [spec for _, spec in indexes.values()]
        self._queries: dict[str, DocumentQuery] = {name: document_query(plan) for name, plan in plans.items()}
        self._resolver = Resolver(self._source, plans)

    def indexes(self) -> Sequence[IndexSpec]:
        return self._specs

    def resolve(self, changes: Sequence[Change]) -> dict[str, set[RowKey]]:
        await_visible(self._source, {change.xid for change in changes if change.xid is not None})
        return self._resolver.resolve(changes)

    def build(self, index: str, keys: Collection[RowKey], version: Lsn) -> list[Document]:
        """The keys' documents from one statement. Many keys are streamed: Postgres assembles the
        later rows while this thread wraps the earlier ones, about twice the rate of a statement
        per chunk of keys (bench/build_throughput.py). A few hundred keys (a live batch) are read
        whole instead, because psycopg streams only unprepared statements, and planning the
        document statement anew per batch cost live sync a fifth of its rate (B4). The caller
        bounds memory by the keys it passes."""
        query = self._queries[index]
        missing = set(keys)
        if not missing:
            return []
        version = self._read_at(version)
        statement, params = query.statement_for(list(missing))
        if len(missing) > STREAM_ROWS:
            rows: Iterable[tuple[Any, ...]] = self._source.stream(statement, params, size=STREAM_ROWS)
        else:  # a prepared statement: planning the document statement anew costs more (B4, B6)
            rows = self._source.rows(statement, params, binary=True)
        documents: list[Document] = []
        for row in rows:
            key = row[:-1]
            if key in missing:  # a key range may hold rows nobody asked for
                missing.remove(key)
                documents.append(Document(DocId(index, key), row[-1], version))
        documents.extend(Document(DocId(index, key), None, version) for key in missing)
        return documents

    def build_page(self, index: str, after: RowKey | None, upto: RowKey, version: Lsn) -> list[Document]:
        """The documents of a backfill page, streamed from one range statement. A root row that
        the filters or soft delete reject gets no tombstone: a backfill writes into a generation
        being built, and any document of it there was written before a change the slot holds,
        which rebuilds it."""
        version = self._read_at(version)
        statement, params = self._queries[index].page_for(after, upto)
        return [
            Document(DocId(index, row[:-1]), row[-1], version)
            for row in self._source.stream(statement, params, size=STREAM_ROWS)
        ]

    def _read_at(self, version: Lsn) -> Lsn:
        """The version of documents read from now on: where the WAL stands, not the LSN of the
        change that asked for them, since a body reflects everything committed by then. So a later
        build always carries a higher version than an earlier one, whichever path (backfill, live,
        a redelivery after a crash) did it, and a stale body can never overwrite a newer one."""
        return max(version, int(self._source.rows(_WAL_POSITION, [])[0][0]))

    def document_count(self, index: str) -> int:
        """How many documents the index should hold right now, by the same rules as build."""
        return int(self._source.rows(self._queries[index].count, [])[0][0])

    def close(self) -> None:
        self._source.close()
