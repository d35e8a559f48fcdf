"""Figures, the machine they were measured on, and bench/results.md."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Figure:
    """One measured figure next to the baseline measured in the same run."""

    bench: str
    what: str
    value: float
    baseline: float
    unit: str
    target: str
    passed: bool
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")

    def row(self) -> str:
        """The table row; the ratio has three places, so one just under its target never prints as it."""
        verdict = "pass" if self.passed else "**miss**"
        return (f"| {self.bench} | {self.what} | {_num(self.value)} {self.unit} | {_num(self.baseline)} {self.unit} "
                f"| {self.ratio:.3f} | {self.target} | {verdict} | {self.note} |")


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def machine(versions: dict[str, str]) -> dict[str, str]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    return {
        "CPUs (nproc)": str(len(os.sched_getaffinity(0))),
        "CPU model": cpu,
        "memory": f"{int(meminfo['MemTotal'].split()[0]) / 1024 / 1024:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        **versions,
    }


def stolen_by_step(stolen: dict[str, tuple[float, float]]) -> str:
    """`B1 3.2 s (1.3 %); ...`: for each benchmark (name -> (stolen CPU seconds, wall seconds)),
    the CPU time the hypervisor gave other guests meanwhile, and its share of this machine's."""
    cpus = len(os.sched_getaffinity(0))
    return "; ".join(f"{name} {taken:.1f} s ({taken / (seconds * cpus):.1%})" for name, (taken, seconds) in stolen.items())


def write_results(path: Path, figures: list[Figure], host: dict[str, str], command: str, notes: list[str]) -> None:
    lines = [
        "# flusso benchmark results",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M %Z')}. Each figure is measured against",
        "a baseline measured in the same run; ratio = value / baseline.",
        "",
        "## Machine",
        "",
        *(f"- {key}: {value}" for key, value in host.items()),
        "",
        "## Results",
        "",
        "| bench | figure | value | baseline | ratio | target | result | note |",
        "|---|---|---|---|---|---|---|---|",
        *(figure.row() for figure in figures),
        "",
        "## Notes",
        "",
        *(f"- {note}" for note in notes),
        "",
    ]
    path.write_text("\n".join(lines))
