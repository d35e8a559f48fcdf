"""`dagster dev` on workspace.yaml, driven like a user would: through its GraphQL API and UI.

Instance storage is on the test Postgres (dagster-postgres). The test materializes an index
asset, screenshots its page (kept under tests/artifacts/), lets the guard sensor start the live
job, sees a change flow through, terminates the run (CANCELED), and checks that the slot never
confirmed past what was flushed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster_graphql import DagsterGraphQLClient
from opensearchpy import OpenSearch

from dev.home import PROJECT_ROOT, free_port
from flusso_dagster.live import LIVE_JOB
from flusso_engine.capture.position import slot_position

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
DAGSTER_YAML = """\
storage:
  postgres:
    postgres_db:
      username: postgres
      password: ""
      hostname: {host}
      port: {port}
      db_name: {db}
      scheme: postgresql+psycopg2
telemetry:
  enabled: false
run_queue:
  max_concurrent_runs: 5
  tag_concurrency_limits:
    - {{key: "flusso/role", value: "live", limit: 1}}
"""


class DagsterDev:
    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        self.home, self.env, self.port = home, env, port
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        dagster = str(Path(sys.executable).parent / "dagster")
        self.process = subprocess.Popen(
            [dagster, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=PROJECT_ROOT, env=self.env, stdout=(self.home / "dev.log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/server_info", timeout=2):
                    return
            except OSError:
                assert self.process.poll() is None, (self.home / "dev.log").read_text()[-3000:]
                time.sleep(0.5)
        raise AssertionError("dagster dev did not answer")

    def graphql(self, query: str) -> dict:
        return self.client._execute(query)  # noqa: SLF001 - the client has no public raw call

    def stop(self) -> None:
        if self.process is None:
            return
        subprocess.run([str(Path(sys.executable).parent / "dagster"), "sensor", "stop", "flusso_live_guard",
                        "-w", str(PROJECT_ROOT / "workspace.yaml")], env=self.env, cwd=PROJECT_ROOT, capture_output=True)
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(30)
        finally:
            # Runs outlive `dagster dev` (their workers are children of its code server): end them too.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def dagster_dev(tmp_path: Path, demo_config: Path, slot_name: str, postgres_server, request) -> Iterator[tuple[DagsterDev, dg.DagsterInstance]]:  # noqa: ANN001
    storage_db = f"dagster_{slot_name}"
    url = postgres_server.create_database(storage_db)
    parts = urllib.parse.urlsplit(url)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML.format(host=parts.hostname, port=parts.port, db=storage_db))
    env = {**os.environ, "DAGSTER_HOME": str(home), "FLUSSO_CONFIG": str(demo_config), "FLUSSO_SLOT": slot_name}
    server = DagsterDev(home, env, free_port(3100, 3200))
    server.start()
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    instance = dg.DagsterInstance.get()
    try:
        yield server, instance
    finally:
        server.stop()
        instance.dispose()
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
        postgres_server.drop_database(storage_db)


def _wait_for(predicate, timeout: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _screenshot(port: int, path: Path) -> str:
    """A PNG of the page, and the rendered DOM (to assert on what the page shows)."""
    common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--user-data-dir={path.parent / 'chromium-profile'}", "--hide-scrollbars", "--window-size=1400,1000",
              "--virtual-time-budget=20000"]
    url = f"http://127.0.0.1:{port}/assets/opensearch/users"
    subprocess.run([*common, f"--screenshot={path}", url], check=True, capture_output=True, timeout=120)
    return subprocess.run([*common, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120).stdout


def test_dagster_dev_materializes_an_index_and_keeps_one_live_run(
    dagster_dev: tuple[DagsterDev, dg.DagsterInstance], demo_store_url: str, slot_name: str,
    opensearch_client: OpenSearch, index_prefix: str,
) -> None:
    server, instance = dagster_dev
    run_id = server.client.submit_job_execution(
        "__ASSET_JOB", repository_location_name="flusso", asset_selection=[["opensearch", "users"]],
    )
    _wait_for(lambda: server.client.get_run_status(run_id) in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE), 180, "the materialization")
    assert server.client.get_run_status(run_id) == dg.DagsterRunStatus.SUCCESS
    event = instance.get_latest_materialization_event(dg.AssetKey(["opensearch", "users"]))
    assert event.asset_materialization.metadata["is_seeded"].value is True

    server.graphql("mutation { setNuxSeen }")
    ARTIFACTS.mkdir(exist_ok=True)
    dom = _screenshot(server.port, ARTIFACTS / "asset_users.png")
    assert "is_seeded" in dom and (ARTIFACTS / "asset_users.png").stat().st_size > 10_000

    def live_run() -> dg.DagsterRun | None:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=LIVE_JOB, statuses=[dg.DagsterRunStatus.STARTED]))
        return runs[0] if runs else None

    run = _wait_for(live_run, 120, "the guard to start the live job")
    with psycopg.connect(demo_store_url, autocommit=True) as conn:
        conn.execute("INSERT INTO users (id, public_id, email, name, created_at) VALUES (990001, gen_random_uuid(), 'live@example.com', 'live', now())")
    _wait_for(lambda: opensearch_client.exists(index=f"{index_prefix}users", id="990001"), 120, "the live change in OpenSearch")

    server.client.terminate_run(run.run_id)
    _wait_for(lambda: instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED, 60, "CANCELED")
    position = slot_position(demo_store_url, slot_name)
    assert position.confirmed is not None and position.confirmed <= position.head
