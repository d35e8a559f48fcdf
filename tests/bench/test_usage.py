"""The CPU accounting the backfill benchmarks report, on the real servers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg

from bench.usage import Cpu, ThreadCpu, opensearch_seconds, postgres_seconds


def test_postgres_cpu_counts_the_work_of_its_backends(pg_database_url: str) -> None:
    with psycopg.connect(pg_database_url) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        datadir = Path(row[0])
        before = postgres_seconds(datadir)
        conn.execute("SELECT count(*) FROM generate_series(1, 5000000)")
        assert postgres_seconds(datadir) - before >= 0.1


def test_opensearch_cpu_is_what_its_nodes_report(opensearch_url: str) -> None:
    before = opensearch_seconds(opensearch_url)
    assert before > 0
    assert opensearch_seconds(opensearch_url) >= before


def test_cpu_per_document_is_given_by_party_and_in_all() -> None:
    spent = Cpu(driver=3.0, postgres=1.5, opensearch=10.5) - Cpu(driver=1.0, postgres=0.5, opensearch=0.5)
    assert spent.per_document(100_000) == "driver 20 + postgres 10 + opensearch 100 = 130 µs"


def _spin(seconds: float) -> None:
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_thread_cpu_counts_threads_that_end_inside_the_stretch_under_one_name() -> None:
    with ThreadCpu(interval=0.02) as threads:
        spinners = [threading.Thread(target=_spin, args=(0.3,), name=f"spinner_{n}") for n in range(2)]
        for spinner in spinners:
            spinner.start()
        for spinner in spinners:
            spinner.join()
    assert threads.seconds()["spinner"] >= 0.4


def test_thread_cpu_counts_the_time_a_thread_spent_after_its_last_reading() -> None:
    go = threading.Event()
    spinner = threading.Thread(target=lambda: go.wait() and _spin(0.3), name="spinner_0")
    spinner.start()
    with ThreadCpu(interval=60) as threads:
        go.set()
        spinner.join()
    assert threads.seconds()["spinner"] >= 0.25
