"""The services a benchmark run starts for itself: a Postgres cluster and an OpenSearch node.

Both live in a fresh folder under /tmp on free ports and are stopped and removed at the end,
so a run never touches the demo's or the tests' servers and leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.usage import Cpu, opensearch_seconds, postgres_seconds
from dev.home import PROJECT_ROOT, free_port
from dev.opensearch import LocalOpenSearch
from dev.postgres import LocalPostgres

DEMO_SCHEMAS = PROJECT_ROOT / "dev" / "demo" / "schemas"
BENCH_SCHEMAS = PROJECT_ROOT / "bench" / "schemas"
#: The flat index: products' own columns only (no joins), over the demo store.
FLAT_SCHEMA = BENCH_SCHEMAS / "products_flat.schema.yml"


@dataclass(frozen=True)
class Stack:
    postgres: LocalPostgres
    opensearch_url: str

    def database(self, name: str) -> str:
        return self.postgres.create_database(name)

    def drop_slots(self) -> None:
        """Slots pin WAL; each benchmark uses its own and drops it when done."""
        with psycopg.connect(self.postgres.url(), autocommit=True) as conn:
            for (slot,) in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE NOT active").fetchall():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))

    def cpu(self, driver: float) -> Cpu:
        """The servers' CPU seconds so far, beside `driver`, the driving process's own."""
        return Cpu(driver, postgres_seconds(self.postgres.datadir), opensearch_seconds(self.opensearch_url))

    def versions(self) -> dict[str, str]:
        with psycopg.connect(self.postgres.url()) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        with urllib.request.urlopen(self.opensearch_url, timeout=10) as response:
            node = json.loads(response.read())
        return {"PostgreSQL": str(row[0]) if row else "?", "OpenSearch": node["version"]["number"]}


@contextmanager
def started() -> Iterator[Stack]:
    base = Path(tempfile.mkdtemp(prefix="flusso-bench-"))
    base.chmod(0o755)  # initdb runs as the postgres user when we are root
    postgres = LocalPostgres(base=base / "postgres", port=free_port(56500, 57500))
    opensearch = LocalOpenSearch(base=base / "opensearch", base_port=free_port(9240, 9290, span=2), heap="1g",
                                 cluster_name="flusso-bench")
    try:
        postgres.start()
        opensearch.start()
        yield Stack(postgres, opensearch.url)
    finally:
        opensearch.stop()
        postgres.stop()
        shutil.rmtree(base, ignore_errors=True)


def write_config(path: Path, database_url: str, opensearch_url: str, prefix: str, schemas: dict[str, Path]) -> Path:
    """A flusso.toml with the given indexes (name -> schema file), writing under `prefix`.

    The same shape as the tests' demo config (tests/conftest.py), with the indexes chosen, but
    with the sink's default refresh_interval: the tests' 1 s has OpenSearch refresh every index
    every second whatever the load, which on 2 cores starved live writes (B3 p50 8-18 s against
    1.1-1.6 s, 2026-11-30), while flusso itself makes caught-up flushes searchable within 1 s."""
    indexes = "".join(f'\n[[index]]\nname = "{name}"\nschema = "{schema}"\nenabled = true\n' for name, schema in schemas.items())
    path.write_text(
        f'prefix = "{prefix}"\n\n[source]\ntype = "postgres"\nconnection_url = "{database_url}"\n\n'
        f'[sinks.search]\ntype = "opensearch"\nurl = "{opensearch_url}"\nnumber_of_replicas = 0\n'
        f"{indexes}"
    )
    return path


FLAT = {"products": FLAT_SCHEMA}
NESTED = {"orders": DEMO_SCHEMAS / "orders.schema.yml"}
DEMO = {name: DEMO_SCHEMAS / f"{name}.schema.yml" for name in ("users", "orders", "products")}
