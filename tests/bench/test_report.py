"""The results table's account of the host: how much CPU other guests took while each benchmark ran."""

from __future__ import annotations

import os

from bench.report import stolen_by_step


def test_stolen_cpu_is_given_per_benchmark_in_seconds_and_as_a_share_of_the_machine() -> None:
    cpus = len(os.sched_getaffinity(0))

    text = stolen_by_step({"B1": (0.5 * cpus, 50.0), "B3": (0.0, 10.0)})

    assert text == "B1 %.1f s (1.0%%); B3 0.0 s (0.0%%)" % (0.5 * cpus)
