"""Where the local stack keeps its state (clusters, jars, Dagster home).

Outside the checkout on purpose: initdb and the server run as the unprivileged `postgres` user
when we are root, and that user cannot enter a checkout under a private home directory.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def dev_home() -> Path:
    """FLUSSO_DEV_HOME, or a per-user folder under /var/tmp that survives between sessions."""
    configured = os.environ.get("FLUSSO_DEV_HOME")
    home = Path(configured) if configured else Path("/var/tmp") / f"flusso-dev-{os.getuid()}"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o755)
    return home


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now. Tried by binding, not connecting:
    a port in the kernel's ephemeral range (32768-60999 here) may be some connection's local end,
    which nothing answers on and yet no server can bind (a bench Postgres failed so on 56500)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(start: int, stop: int, span: int = 1) -> int:
    """The first port in [start, stop) such that it and the `span - 1` ports after it are free."""
    for port in range(start, stop):
        if all(port_is_free(p) for p in range(port, port + span)):
            return port
    raise RuntimeError(f"no free port range of {span} between {start} and {stop}")
