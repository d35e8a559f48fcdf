"""Real services for the tests: a PostgreSQL 15 cluster and an OpenSearch node of our own.

Both start once per session, lazily (only when a test asks for them), and a test that needs a
service that cannot start fails with the reason; nothing is ever skipped for a missing service.
Each test gets its own database and its own index prefix, so tests cannot see each other's data.
Set FLUSSO_TEST_POSTGRES_URL / FLUSSO_TEST_OPENSEARCH_URL to reuse servers already running.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from opensearchpy import OpenSearch
from psycopg import sql

from dev.home import free_port
from dev.opensearch import LocalOpenSearch
from dev.postgres import LocalPostgres

_database_numbers = itertools.count()


class PostgresServer:
    """The session's server as tests see it: an admin URL and a way to make databases."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def url(self, dbname: str) -> str:
        return urlsplit(self.admin_url)._replace(path=f"/{dbname}").geturl()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            # A logical slot pins its database; a test's leftover slot must not block the drop. The
            # terminate waits (up to 10 s) for its walsender to end: a slot still marked active
            # refuses the drop (ObjectInUse), which failed a test's setup now and then.
            for (slot,) in conn.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (name,)).fetchall():
                conn.execute("SELECT pg_terminate_backend(active_pid, 10000) FROM pg_replication_slots WHERE slot_name = %s AND active_pid IS NOT NULL", (slot,))
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    configured = os.environ.get("FLUSSO_TEST_POSTGRES_URL")
    if configured:
        yield PostgresServer(configured)
        return
    base = Path(tempfile.mkdtemp(prefix="flusso-test-pg-"))
    cluster = LocalPostgres(base=base, port=free_port(55432, 56432))
    try:
        cluster.start()
    except Exception as exc:  # noqa: BLE001 - any failure to start must fail the test, with its reason
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL for the tests could not start: {exc}", pytrace=False)
    try:
        yield PostgresServer(cluster.url())
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_database_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test on the real server (wal_level=logical)."""
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    name = f"t{next(_database_numbers)}_{os.getpid()}_{stem}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def opensearch_url() -> Iterator[str]:
    configured = os.environ.get("FLUSSO_TEST_OPENSEARCH_URL")
    if configured:
        yield configured.rstrip("/")
        return
    base = Path(tempfile.mkdtemp(prefix="flusso-test-os-"))
    node = LocalOpenSearch(base=base, base_port=free_port(9210, 9290, span=2), cluster_name=f"flusso-test-{os.getpid()}")
    try:
        node.start()
    except Exception as exc:  # noqa: BLE001 - any failure to start must fail the test, with its reason
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"OpenSearch for the tests could not start: {exc}", pytrace=False)
    try:
        yield node.url
    finally:
        node.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def opensearch_client(opensearch_url: str) -> Iterator[OpenSearch]:
    client = OpenSearch(hosts=[opensearch_url], timeout=30)
    yield client
    client.close()


@pytest.fixture
def index_prefix(opensearch_client: OpenSearch) -> Iterator[str]:
    """A prefix no other test uses; every index under it is deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    yield prefix
    opensearch_client.indices.delete(index=f"{prefix}*", ignore_unavailable=True, expand_wildcards="all")


DEMO_SCHEMAS = Path(__file__).resolve().parent.parent / "dev" / "demo" / "schemas"


@pytest.fixture
def demo_store_url(pg_database_url: str) -> str:
    """A fresh database holding a small demo store (200 products and orders)."""
    from dev.demo.generate import generate

    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        generate(conn, size=200)
    return pg_database_url


@pytest.fixture
def slot_name() -> str:
    """Replication slots are cluster-wide: each test gets a name of its own."""
    return f"flusso_{uuid.uuid4().hex[:12]}"


def write_demo_config(path: Path, database_url: str, opensearch_url: str, prefix: str) -> Path:
    """A flusso.toml for the demo store's three indexes, writing under `prefix`."""
    indexes = "".join(
        f'\n[[index]]\nname = "{name}"\nschema = "{DEMO_SCHEMAS / f"{name}.schema.yml"}"\nenabled = true\n'
        for name in ("users", "orders", "products")
    )
    path.write_text(
        f'prefix = "{prefix}"\n\n[source]\ntype = "postgres"\nconnection_url = "{database_url}"\n\n'
        f'[sinks.search]\ntype = "opensearch"\nurl = "{opensearch_url}"\nnumber_of_replicas = 0\nrefresh_interval = "1s"\n'
        f"{indexes}"
    )
    return path


@pytest.fixture
def demo_config(tmp_path: Path, demo_store_url: str, opensearch_url: str, index_prefix: str) -> Path:
    """A flusso.toml for the small demo store, writing under this test's prefix."""
    return write_demo_config(tmp_path / "flusso.toml", demo_store_url, opensearch_url, index_prefix)
