"""The status surface of `flusso run`: liveness at once, readiness after catch-up, and numbers."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dev.home import free_port
from tests.cli.support import eventually, get, start_flusso, status


@pytest.fixture
def running(tmp_path: Path, demo_config: Path, slot_name: str) -> Iterator[str]:
    port = free_port(19464, 19564)
    process = start_flusso("run", "--config", str(demo_config), "--slot", slot_name,
                           "--status-address", f"127.0.0.1:{port}", log=tmp_path / "run.log")
    base = f"http://127.0.0.1:{port}"
    try:
        eventually(lambda: get(f"{base}/healthz")[0] == 200, what="healthz")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, (tmp_path / "run.log").read_text()


def test_readyz_turns_ready_once_seeded_and_caught_up(running: str) -> None:
    assert get(f"{running}/readyz")[0] in (200, 503)
    eventually(lambda: get(f"{running}/readyz")[0] == 200, what="readyz 200")
    snapshot = status(running)
    assert snapshot["phase"] == "live"
    assert {state["state"] for state in snapshot["indexes"].values()} == {"seeded"}
    assert set(snapshot["indexes"]) == {"users", "orders", "products"}
    assert snapshot["slot_lag_bytes"] is not None and snapshot["last_lsn"]


def test_metrics_count_a_live_change(running: str, demo_store_url: str) -> None:
    eventually(lambda: get(f"{running}/readyz")[0] == 200, what="readyz 200")
    backfilled = status(running)["changes_applied"]
    with psycopg.connect(demo_store_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET name = name || ' (renamed)' WHERE id = 1")
    eventually(lambda: status(running)["changes_applied"] > backfilled, what="the change applied")

    metrics = get(f"{running}/metrics")[1]

    def value(sample: str) -> float:
        match = re.search(rf"^{re.escape(sample)} (\S+)$", metrics, re.M)
        assert match, f"{sample} missing from /metrics"
        return float(match[1])

    assert value("flusso_changes_applied_total") > backfilled
    assert value("flusso_documents_written_total") > 0
    assert value('flusso_documents_built_total{index="users"}') > 0
    assert value("flusso_flush_duration_seconds_count") > 0
    assert value("flusso_end_to_end_latency_seconds_count") > 0
    assert "flusso_replication_slot_lag_bytes" in metrics
