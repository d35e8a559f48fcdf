"""Fixtures: the store in a fresh database, and builders over schemas written as YAML text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from flusso_engine.documents.postgres import PostgresDocumentBuilder
from flusso_engine.model import IndexSpec, TableRef
from flusso_engine.schema import IndexSchema, parse_index_schema
from tests.documents.store import STORE, Builder


@pytest.fixture
def pg(pg_database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def store(pg: psycopg.Connection) -> psycopg.Connection:
    pg.execute(STORE)
    return pg


@pytest.fixture
def builder(pg_database_url: str, tmp_path: Path) -> Iterator[Builder]:
    """`builder(users=<yaml>, orders=<yaml>)`: a builder over those indexes, each parsed by the schema loader."""
    made: list[PostgresDocumentBuilder] = []

    def make(**schemas: str | IndexSchema) -> PostgresDocumentBuilder:
        indexes = {}
        for name, schema in schemas.items():
            if isinstance(schema, str):
                path = tmp_path / f"{name}.schema.yml"
                path.write_text(schema)
                schema = parse_index_schema(path)
            indexes[name] = (schema, IndexSpec(name, TableRef(schema.db_schema, schema.table), {}))
        made.append(PostgresDocumentBuilder(pg_database_url, indexes))
        return made[-1]

    yield make
    for built in made:
        built.close()

