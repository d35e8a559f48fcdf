"""The demo: local Postgres with the demo store, OpenSearch, and `dagster dev` on workspace.yaml.

`python -m dev.stack demo` starts everything, serves the Dagster UI on http://127.0.0.1:3000 and
stops everything it started on Ctrl-C (or SIGTERM). State lives in the dev home, so a second
start is warm: the cluster, the demo data and the Dagster instance are kept.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from dev.home import PROJECT_ROOT, dev_home
from dev.opensearch import LocalOpenSearch
from dev.postgres import LocalPostgres

DEMO_PG_PORT = 54329
DEMO_OS_BASE_PORT = 9200  # HTTP on 9201
DAGSTER_PORT = 3000
DEMO_DB = "store"
DAGSTER_DB = "dagster"

DAGSTER_YAML = """\
# Written by dev/stack.py: the demo instance keeps runs, events and schedules in the local Postgres.
storage:
  postgres:
    postgres_db:
      username: {env: DAGSTER_PG_USERNAME}
      password: {env: DAGSTER_PG_PASSWORD}
      hostname: {env: DAGSTER_PG_HOST}
      db_name: {env: DAGSTER_PG_DB}
      port: {env: DAGSTER_PG_PORT}
      scheme: postgresql+psycopg2   # SQLAlchemy 2.1 would pick psycopg 3, which breaks dagster-postgres
telemetry:
  enabled: false
run_queue:
  max_concurrent_runs: 10
  tag_concurrency_limits:
    - {key: "flusso/role", value: "live", limit: 1}
"""


def log(message: str) -> None:
    print(f"[flusso demo] {message}", flush=True)


def ensure_database(cluster: LocalPostgres, name: str) -> bool:
    """Create the database if missing; True when it was created."""
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def demo_environment(cluster: LocalPostgres, opensearch_url: str | None, dagster_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=cluster.url(DEMO_DB),
        FLUSSO_CONFIG=os.environ.get("FLUSSO_CONFIG", str(PROJECT_ROOT / "dev" / "demo" / "flusso.toml")),
        DAGSTER_HOME=str(dagster_home),
        DAGSTER_PG_USERNAME="postgres",
        DAGSTER_PG_PASSWORD="",
        DAGSTER_PG_HOST="127.0.0.1",
        DAGSTER_PG_PORT=str(cluster.port),
        DAGSTER_PG_DB=DAGSTER_DB,
    )
    if opensearch_url:
        env["SEARCH_OPENSEARCH_URL"] = opensearch_url
    else:
        env["FLUSSO_SINK"] = "stdout"
    return env


def run_demo(sink: str, size: int) -> int:
    home = dev_home()
    started: list[object] = []
    dagster: subprocess.Popen | None = None
    try:
        cluster = LocalPostgres(base=home / "postgres", port=DEMO_PG_PORT)
        t0 = time.monotonic()
        cluster.start()
        started.append(cluster)
        log(f"Postgres ready on port {cluster.port} in {time.monotonic() - t0:.1f}s")

        if ensure_database(cluster, DEMO_DB):
            log(f"generating the demo store ({size} products)")
            subprocess.run([sys.executable, "-m", "dev.demo.generate", "--dsn", cluster.url(DEMO_DB), "--size", str(size)], check=True, cwd=PROJECT_ROOT)
        ensure_database(cluster, DAGSTER_DB)

        opensearch_url = None
        if sink == "opensearch":
            node = LocalOpenSearch(base=home / "opensearch", base_port=DEMO_OS_BASE_PORT, cluster_name="flusso-demo")
            t0 = time.monotonic()
            node.start()
            started.append(node)
            opensearch_url = node.url
            log(f"OpenSearch ready at {node.url} in {time.monotonic() - t0:.1f}s")

        dagster_home = home / "dagster"
        dagster_home.mkdir(exist_ok=True)
        (dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
        env = demo_environment(cluster, opensearch_url, dagster_home)
        t0 = time.monotonic()
        dagster = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(DAGSTER_PORT)],
            cwd=PROJECT_ROOT, env=env, start_new_session=True,
        )
        wait_for_http(f"http://127.0.0.1:{DAGSTER_PORT}/server_info", timeout=180)
        log(f"Dagster UI ready at http://127.0.0.1:{DAGSTER_PORT} in {time.monotonic() - t0:.1f}s (Ctrl-C stops everything)")
        return dagster.wait()
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        if dagster is not None and dagster.poll() is None:
            os.killpg(dagster.pid, signal.SIGINT)
            try:
                dagster.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(dagster.pid, signal.SIGKILL)
        for service in reversed(started):
            service.stop()  # type: ignore[attr-defined]
        log("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start Postgres + demo data, OpenSearch and dagster dev")
    demo.add_argument("--sink", choices=["opensearch", "stdout"], default=os.environ.get("FLUSSO_DEMO_SINK", "opensearch"))
    demo.add_argument("--size", type=int, default=10_000, help="demo store size (products) on first start")
    args = parser.parse_args(argv)
    # SIGTERM stops the demo like Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return run_demo(args.sink, args.size)


if __name__ == "__main__":
    sys.exit(main())
