"""CPU seconds spent by each party of a measurement: where a throughput gap goes.

A rate alone cannot tell waiting from working. CPU can: when the node already keeps every core
busy on the raw bulk limit, each CPU-second the engine, Postgres or an extra refresh spends is
a second the node does not index, so the per-party CPU of the engine's run next to the raw
run's shows how much of the gap is work added and how much is time lost waiting.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench.readings import Readings

_TICK = os.sysconf("SC_CLK_TCK")
SHORT_LIVED = "threads no reading saw"


@dataclass(frozen=True)
class Cpu(Readings):
    """CPU seconds over one measured stretch: the process driving it, Postgres, OpenSearch."""

    driver: float
    postgres: float
    opensearch: float

    def per_document(self, documents: int) -> str:
        """µs of CPU per document, by party and in all."""
        scale = 1e6 / documents
        return (f"driver {self.driver * scale:.0f} + postgres {self.postgres * scale:.0f} + opensearch "
                f"{self.opensearch * scale:.0f} = {(self.driver + self.postgres + self.opensearch) * scale:.0f} µs")


def by_thread(us: dict[str, float]) -> str:
    """µs by thread, the largest first, with one decimal: `flusso-capture 17.0, ...`."""
    return ", ".join(f"{name} {value:.1f}" for name, value in sorted(us.items(), key=lambda item: -item[1]) if value >= 0.05)


def postgres_seconds(datadir: Path) -> float:
    """CPU seconds of a cluster so far: the postmaster, its live children and those it reaped."""
    postmaster = int((datadir / "postmaster.pid").read_text().split()[0])
    total = _seconds(postmaster, with_reaped=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(entry.name) == postmaster:
            total += _seconds(int(entry.name), with_reaped=False)
    return total


def stolen_seconds() -> float:
    """CPU seconds the hypervisor has given to other guests while this machine's CPUs wanted to
    run (`steal` in /proc/stat), summed over its CPUs, since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) / _TICK  # cpu user nice system idle iowait irq softirq steal


def process_seconds(pid: int) -> float:
    """CPU seconds one process (a Postgres backend) has used so far; 0 once it is gone."""
    return _seconds(pid, with_reaped=False)


def opensearch_seconds(url: str) -> float:
    """CPU seconds of every node behind `url` so far, as the nodes report them."""
    with urllib.request.urlopen(f"{url}/_nodes/stats/process?filter_path=nodes.*.process.cpu", timeout=10) as response:
        nodes = json.loads(response.read())["nodes"]
    return sum(node["process"]["cpu"]["total_in_millis"] for node in nodes.values()) / 1000


def _fields(pid: int | str) -> list[str]:
    """/proc/PID/stat after the command name (which may hold spaces), or [] once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return []


def _parent(pid: str) -> int:
    fields = _fields(pid)
    return int(fields[1]) if fields else 0


def _seconds(pid: int, with_reaped: bool) -> float:
    fields = _fields(pid)
    used = _cpu(fields)
    if with_reaped and fields:
        used += (int(fields[13]) + int(fields[14])) / _TICK  # cutime, cstime: children it waited for
    return used


class ThreadCpu:
    """CPU seconds of this process's threads over a stretch in which threads come and go.

    A thread of its own reads every thread's CPU time each `interval` seconds. A thread that ends
    between two readings takes its last stretch of CPU with it, and on a loaded machine the sampler
    may not run for long after that; the kernel keeps an ended thread's time in the process's
    total, though, so each reading gives the part of the process's CPU that no living thread
    accounts for to the threads that ended since the reading before. The process's total may trail
    a thread's end by a reading (seen on a loaded machine: the task gone from the list, its last
    stretch not yet in the total), so what turns up in the reading after goes to the same threads.
    What is left of it at the end is SHORT_LIVED: threads born and ended between two readings.
    Threads are named without a pool's `_N` suffix, so the two bulk senders count as one.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self._interval = interval
        self._spent: Counter[str] = Counter()
        self._threads: dict[int, tuple[str, float]] = {}
        self._process = 0.0
        self._unaccounted = 0.0
        self._just_ended: list[str] = []
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample_until_done, name="bench-thread-cpu", daemon=True)

    def __enter__(self) -> ThreadCpu:
        self._process, self._threads = _process_and_threads({})
        self._sampler.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._done.set()
        self._sampler.join()
        if self._unaccounted > 0:
            self._spent[SHORT_LIVED] += self._unaccounted

    def seconds(self) -> Counter[str]:
        """CPU seconds by thread name, from entering to leaving (this sampler left out)."""
        spent = Counter(self._spent)
        del spent[self._sampler.name]
        return spent

    def _sample_until_done(self) -> None:
        # The last reading is the sampler's own too: read after it had ended, the sampler would be
        # one of the threads that ended since the reading before and take a share of their time.
        while not self._done.wait(self._interval):
            self._read()
        self._read()

    def _read(self) -> None:
        process, threads = _process_and_threads(self._threads)
        living = 0.0
        for tid, (name, seconds) in threads.items():
            _, before = self._threads.get(tid, (name, 0.0))
            self._spent[name] += seconds - before
            living += seconds - before
        # Signed: the threads are read a moment after the process, so a reading's living time may
        # exceed the process's and the next reading's fall short by as much; only the sum is real.
        self._unaccounted += process - self._process - living
        ended = [name for tid, (name, _) in self._threads.items() if tid not in threads]
        credited = ended or self._just_ended
        if credited and self._unaccounted > 0:
            for name in credited:
                self._spent[name] += self._unaccounted / len(credited)
            self._unaccounted = 0.0
        self._just_ended = ended
        self._process, self._threads = process, threads


def _process_and_threads(known: dict[int, tuple[str, float]]) -> tuple[float, dict[int, tuple[str, float]]]:
    """This process's CPU seconds (ended threads included), then each living thread's name and seconds.

    The process is read first, so a thread that ends in between is in its total and missing from
    the threads: it is counted as ended, never twice. A thread keeps the name it was `known` by:
    one whose join has returned has left `threading.enumerate()` while its task may still be
    ending.
    """
    names = {tid: name for tid, (name, _) in known.items()}
    names.update((thread.native_id, re.sub(r"_\d+$", "", thread.name)) for thread in threading.enumerate() if thread.native_id)
    process = _cpu(_fields("self"))
    threads: dict[int, tuple[str, float]] = {}
    for task in Path("/proc/self/task").iterdir():
        fields = _fields(f"self/task/{task.name}")
        if fields:
            threads[int(task.name)] = (names.get(int(task.name)) or _command(task), _cpu(fields))
    return process, threads


def _command(task: Path) -> str:
    """The kernel's name of a thread Python did not start (a library's own), or "" once it is gone."""
    try:
        return (task / "comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _cpu(fields: list[str]) -> float:
    """utime + stime of a /proc stat line, in seconds."""
    return (int(fields[11]) + int(fields[12])) / _TICK if fields else 0.0
