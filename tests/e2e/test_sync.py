"""The end-to-end promise, with the `flusso run` process as users run it: backfill, follow a
live load, survive SIGKILL at random moments, and end with OpenSearch equal to a fresh build."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from opensearchpy import OpenSearch

from dev.demo.generate import generate
from dev.demo.load import EVEN_MIX, run_load
from flusso_engine.schema import load_config
from tests.conftest import write_demo_config
from tests.e2e.compare import compare

ROOT_ROWS = 10_000


def write_store(tmp_path: Path, database_url: str, opensearch_url: str, prefix: str, size: int) -> Path:
    """Generate the demo store of `size` into the database; returns a flusso.toml for it."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        generate(conn, size=size)
    return write_demo_config(tmp_path / "flusso.toml", database_url, opensearch_url, prefix)


@pytest.fixture
def store_config(tmp_path: Path, pg_database_url: str, opensearch_url: str, index_prefix: str) -> Path:
    return write_store(tmp_path, pg_database_url, opensearch_url, index_prefix, ROOT_ROWS)


class FlussoProcess:
    """`flusso run` as a child process, its output kept in a log file."""

    def __init__(self, config: Path, slot: str, log: Path) -> None:
        self.argv = [sys.executable, "-m", "flusso_engine.cli", "run", "--config", str(config), "--slot", slot,
                     "--batch-delay", "20", "--status-address", "0"]
        self.log = log
        self.process: subprocess.Popen | None = None
        self._offset = 0

    def start(self, *extra: str) -> subprocess.Popen:
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([*self.argv, *extra], stdout=out, stderr=subprocess.STDOUT)
        return self.process

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def wait_for(self, text: str, timeout: float = 300) -> None:
        """Wait until the current process has logged `text` (it writes one line per event)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text.encode() in self.log.read_bytes()[self._offset:] or self.process.poll() is not None:
                return
            time.sleep(0.1)
        raise AssertionError(f"flusso did not log {text!r} within {timeout}s")

    def catch_up(self, timeout: float = 300) -> None:
        """Run once more until caught up: the final state must then be exact."""
        done = subprocess.run([*self.argv, "--until-caught-up"], capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def flusso(tmp_path: Path, store_config: Path, slot_name: str) -> Iterator[FlussoProcess]:
    process = FlussoProcess(store_config, slot_name, tmp_path / "flusso.log")
    yield process
    if process.process is not None and process.process.poll() is None:
        process.kill()


def _load_in_background(url: str, seconds: float, rate: float = 200) -> threading.Thread:
    def load() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            run_load(conn, rate, seconds, seed=7, mix=EVEN_MIX)  # every statement, rare ones too

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    return thread


def _assert_identical(config: Path, client: OpenSearch, prefix: str) -> None:
    differences = compare(load_config(config), client, prefix)
    assert not any(differences.values()), {name: d for name, d in differences.items() if d}


def test_backfill_then_a_live_load_ends_identical_to_a_fresh_build(
    flusso: FlussoProcess, store_config: Path, pg_database_url: str, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    flusso.start()
    _load_in_background(pg_database_url, seconds=20).join()
    assert flusso.stop() == 0
    flusso.catch_up()
    _assert_identical(store_config, opensearch_client, index_prefix)


def test_sigkill_at_random_moments_loses_nothing(
    flusso: FlussoProcess, store_config: Path, pg_database_url: str, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    chance = random.Random(20261124)
    load = _load_in_background(pg_database_url, seconds=60)
    for _ in range(3):  # during the backfill
        flusso.start()
        time.sleep(chance.uniform(0.5, 3.0))
        flusso.kill()
    for _ in range(3):  # during live
        flusso.start()
        flusso.wait_for("following live changes")
        time.sleep(chance.uniform(0.2, 3.0))
        flusso.kill()
    flusso.start()
    load.join()
    assert flusso.stop() == 0
    flusso.catch_up()
    _assert_identical(store_config, opensearch_client, index_prefix)
