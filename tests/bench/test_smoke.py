"""Keeps the benchmark harness runnable: its cheapest benchmark, end to end, in smoke mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_smoke_run_of_b6_writes_a_results_table(tmp_path: Path) -> None:
    results = tmp_path / "results.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--only", "B6", "--results", str(results)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    table = results.read_text()
    assert "| B6 | CPU per change, no-op sink (flat) |" in table
    assert "µs by thread:" in table and "flusso-capture" in table
    assert "PostgreSQL:" in table and "OpenSearch:" in table
    assert "- CPU taken by other guests (steal) while each ran: B6 " in table
