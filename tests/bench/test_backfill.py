"""How the backfill benchmarks pick the run they report among their rounds."""

from __future__ import annotations

from bench.backfill import RawRun, median_run
from bench.node import NodeWork
from bench.usage import Cpu


def _run(rate: float) -> RawRun:
    return RawRun(rate, Cpu(driver=rate, postgres=0.0, opensearch=0.0), NodeWork(0, 0, 0, 0, 0, 0, 0))


def test_the_reported_run_is_the_one_of_median_rate_with_its_own_cpu() -> None:
    runs = [_run(30_000), _run(45_000), _run(33_000)]
    assert median_run(runs) is runs[2]


def test_of_an_even_count_the_lower_middle_run_is_reported() -> None:
    runs = [_run(4), _run(1), _run(3), _run(2)]
    assert median_run(runs).rate == 2
