"""B3's timeline: a slow second shows beside the flushes and the work that slowed it."""

from __future__ import annotations

from pathlib import Path

from bench.node import NodeWork
from bench.timeline import Batch, Sample, Timeline


def sample(at: float, node_cpu: float, refresh_ms: float, autovacuum: tuple[str, ...] = (),
           postgres_cpu: float = 0.0, flusso: dict[int, float] | None = None) -> Sample:
    return Sample(at, 0.0, postgres_cpu, node_cpu, NodeWork(0, refresh_ms, 0, 0, 0, 0, 0), autovacuum, flusso or {})


def test_each_second_shows_its_changes_latency_beside_its_flushes_and_the_node_work_in_it(tmp_path: Path) -> None:
    timeline = Timeline("http://unused", "postgresql://unused", tmp_path)
    timeline.samples = [sample(100.0, 10.0, 0), sample(101.0, 10.5, 100), sample(102.0, 11.5, 900, ("public.users",))]
    timeline.batches = [Batch(100.2, 50, 0.01, 0.02), Batch(101.3, 60, 0.01, 0.4)]
    confirmed = [(100.0, 0.03), (100.5, 0.05), (101.0, 0.45)]

    timeline.write(tmp_path / "timeline.txt", confirmed)

    header, first, slow = (tmp_path / "timeline.txt").read_text().splitlines()
    assert first.split("|")[1].split() == ["2", "30", "50", "50"]
    assert slow.split("|")[1].split() == ["1", "450", "450", "450"]
    assert slow.split("|")[2].split() == ["1", "400/400", "10/10"]
    assert slow.split("|")[3].split() == ["0", "0", "0", "1000"]  # engine, Postgres (flusso's part), node CPU ms
    assert slow.split("|")[4].split() == ["800", "0", "0"]  # refresh, merge, GC ms
    assert slow.split("|")[5].strip() == "public.users"


def test_postgres_cpu_shows_flusso_backends_part_counting_only_those_alive_across_the_second(tmp_path: Path) -> None:
    timeline = Timeline("http://unused", "postgresql://unused", tmp_path)
    timeline.samples = [
        sample(100.0, 0, 0, postgres_cpu=5.0, flusso={11: 1.0, 12: 2.0}),
        sample(101.0, 0, 0, postgres_cpu=5.4, flusso={11: 1.1, 13: 9.0}),  # 12 closed, 13 opened meanwhile
    ]

    timeline.write(tmp_path / "timeline.txt", [(100.0, 0.01)])

    _, second = (tmp_path / "timeline.txt").read_text().splitlines()
    assert second.split("|")[3].split()[1:3] == ["400", "100"]  # Postgres 400 ms, of which flusso's 100
