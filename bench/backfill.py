"""B1, B2, B5: backfill throughput against the node's raw bulk limit, and the engine's peak RSS.

The engine seeds an index in a process of its own (bench/seed.py). The baseline is the very
bulk bodies the sink would send for the same documents (built by the same builder, encoded by
the same `encode`, cut at the sink's batch_size) posted by minimal loops with 1, 2 and 4
clients (bench/opensearch_sink.post_bulk); the best of them is the node's limit.
"""

from __future__ import annotations

import json
import mmap
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from opensearchpy import OpenSearch
from psycopg import sql

from bench.opensearch_sink import post_bulk
from bench.stack import Stack, write_config
from dev.home import PROJECT_ROOT
from flusso_engine.backends import build_builder, opensearch_settings, selected_indexes
from flusso_engine.schema import load_config
from flusso_engine.sinks.opensearch.bulk import encode, plan_chunks
from flusso_engine.sinks.opensearch.client import OpenSearchSettings
from flusso_engine.sinks.opensearch.lifecycle import index_body

RAW_INDEX = "bench_raw"
CLIENTS = (1, 2, 4)


@dataclass(frozen=True)
class Seeding:
    documents: int
    seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.documents / self.seconds


def seed(stack: Stack, database_url: str, schemas: dict[str, Path], workdir: Path, profile: Path | None = None) -> Seeding:
    """Seed the indexes of a fresh prefix with `python -m bench.seed`; the indexes are deleted after."""
    prefix = f"b{uuid.uuid4().hex[:8]}_"
    slot = f"bench_{uuid.uuid4().hex[:8]}"
    config = write_config(workdir / f"{prefix}flusso.toml", database_url, stack.opensearch_url, prefix, schemas)
    argv = [sys.executable, "-m", "bench.seed", str(config), slot, *(["--profile", str(profile)] if profile else [])]
    done = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"seeding failed: {done.stderr[-3000:]}")
    OpenSearch(hosts=[stack.opensearch_url], timeout=120).indices.delete(index=f"{prefix}*", expand_wildcards="all")
    stack.drop_slots()
    return Seeding(**json.loads(done.stdout.strip().splitlines()[-1]))


@dataclass
class BulkBodies:
    """Bulk request bodies in one file, read back through mmap so 1M documents cost no RSS."""

    path: Path
    spans: list[tuple[int, int]]
    documents: int
    mapping: dict

    def bodies(self, view: mmap.mmap) -> list[memoryview]:
        data = memoryview(view)
        return [data[start:start + length] for start, length in self.spans]


def dump_bodies(database_url: str, schemas: dict[str, Path], opensearch_url: str, workdir: Path) -> BulkBodies:
    """The documents of the (single) index, built and encoded as the engine would, into RAW_INDEX."""
    config = load_config(write_config(workdir / "dump.toml", database_url, opensearch_url, "dump_", schemas))
    settings = opensearch_settings(next(iter(config.sinks.values())))  # type: ignore[arg-type]
    builder = build_builder(config, selected_indexes(config))
    (spec,) = builder.indexes()
    bulk = BulkBodies(workdir / "bodies.ndjson", [], 0, spec.mapping)
    select = sql.SQL("SELECT id::text FROM {} ORDER BY id").format(sql.Identifier(spec.root.schema, spec.root.name))
    try:
        with psycopg.connect(database_url) as conn, bulk.path.open("wb") as out:
            version = int(str(conn.execute("SELECT pg_current_wal_lsn() - '0/0'").fetchone()[0]))  # type: ignore[index]
            cursor = conn.cursor(name="keys")
            cursor.execute(select)
            while rows := cursor.fetchmany(settings.batch_size):
                documents = builder.build(spec.name, [tuple(row) for row in rows], version)
                actions = [encode(document, RAW_INDEX) for document in documents if document.body is not None]
                for chunk in plan_chunks(actions, settings.batch_size, settings.max_bytes):
                    body = b"".join(payload for _, payload in chunk)
                    bulk.spans.append((out.tell(), len(body)))
                    out.write(body)
                    bulk.documents += len(chunk)
    finally:
        builder.close()
    return bulk


def raw_rates(opensearch_url: str, bulk: BulkBodies, settings: OpenSearchSettings, clients: tuple[int, ...] = CLIENTS) -> dict[int, float]:
    """Docs/s of the node fed the pre-built bodies by 1, 2 and 4 minimal clients, each into a fresh index."""
    client = OpenSearch(hosts=[opensearch_url], timeout=120)
    rates = {}
    with bulk.path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as view:
        bodies = bulk.bodies(view)
        for n in clients:
            client.indices.delete(index=RAW_INDEX, ignore_unavailable=True)
            client.indices.create(index=RAW_INDEX, body=index_body(bulk.mapping, settings))
            rates[n] = bulk.documents / post_bulk(opensearch_url, bodies, n)
            client.indices.delete(index=RAW_INDEX)
        del bodies
    return rates


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="flusso-bench-work-"))
