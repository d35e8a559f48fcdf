"""A PostgreSQL 15 cluster of the project's own, from the Debian server binaries.

Never the system cluster: it lives in its own data directory, on its own port, with
wal_level=logical and enough replication slots and WAL senders for the tests. initdb and the
server refuse to run as root, so as root they run as the `postgres` OS user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

SERVER_SETTINGS = {
    "wal_level": "logical",
    "max_replication_slots": "64",
    "max_wal_senders": "64",
    "max_connections": "200",
    "listen_addresses": "127.0.0.1",
    "fsync": "off",  # a throwaway cluster: durability across OS crashes is not needed
    "full_page_writes": "off",
    "shared_buffers": "256MB",
}


class PostgresUnavailable(RuntimeError):
    """The local cluster could not be created or started; the message says why."""


def bindir() -> Path:
    """Where the server binaries are: `pg_config --bindir`, else the Debian 15 folder."""
    found = shutil.which("pg_config")
    if found:
        candidate = Path(subprocess.run([found, "--bindir"], capture_output=True, text=True, check=True).stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for version in ("15", "16", "17"):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").exists():
            return candidate
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb) found; install postgresql-15 (apt-get install postgresql-15)")


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


@dataclass
class LocalPostgres:
    """One cluster: `start()` creates it on first use, `stop()` shuts it down, data stays."""

    base: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def logfile(self) -> Path:
        return self.base / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(_as_server_user(argv), capture_output=True, text=True)
        if done.returncode != 0:
            raise PostgresUnavailable(f"{Path(argv[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")

    def initialized(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def _init(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        _own(self.base)
        self._run([str(bindir() / "initdb"), "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
        with (self.datadir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")

    def running(self) -> bool:
        try:
            with psycopg.connect(self.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def start(self, timeout: float = 60.0) -> None:
        if not self.initialized():
            self._init()
        if self.running():
            return
        options = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
        options += f" -p {self.port} -k {self.base}"
        self.logfile.touch()
        _own(self.logfile)
        self._run([str(bindir() / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o", options, "-w", "-t", str(int(timeout)), "start"])
        deadline = time.monotonic() + timeout
        while not self.running():
            if time.monotonic() > deadline:
                raise PostgresUnavailable(f"server did not accept connections on port {self.port}; see {self.logfile}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.initialized() and (self.datadir / "postmaster.pid").exists():
            self._run([str(bindir() / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"])

    def create_database(self, name: str, owner: str | None = None) -> str:
        """Create a database (dropping one of that name first); returns its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if owner:
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(owner)))
            else:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)
