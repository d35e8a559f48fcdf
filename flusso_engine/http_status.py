"""The status surface of `flusso run`: /healthz, /readyz, /status and /metrics over plain HTTP.

Bound to 127.0.0.1 by default: it has no authentication, and what it tells (index names, lag)
is for the operator and the scraper on the same host or behind a proxy they choose. Served by
the standard library on daemon threads, so a slow scraper never touches the engine.
"""

from __future__ import annotations

import argparse
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from prometheus_client import CONTENT_TYPE_LATEST

from flusso_engine.errors import FlussoError
from flusso_engine.metrics import RunMetrics
from flusso_engine.status import RunStatus

logger = logging.getLogger("flusso.http")

DEFAULT_ADDRESS = "127.0.0.1:9464"


def parse_address(text: str) -> tuple[str, int] | None:
    """`host:port` (or `:port`, all interfaces) to bind; `0` disables the surface."""
    if text.strip() == "0":
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (e.g. {DEFAULT_ADDRESS}) or 0 to disable, got {text!r}")
    return host.strip("[]"), int(port)


class StatusServer:
    """`start()` binds (failing fast when the port is taken) and serves until `stop()`."""

    def __init__(self, address: tuple[str, int], status: RunStatus, metrics: RunMetrics) -> None:
        self._address = address
        self._status = status
        self._metrics = metrics
        self._server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def start(self) -> StatusServer:
        try:
            self._server = ThreadingHTTPServer(self._address, self._handler())
        except OSError as error:
            host, port = self._address
            raise FlussoError(f"cannot serve status on {host}:{port}: {error.strerror}; "
                              "choose another --status-address, or 0 to disable it") from error
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="flusso-status", daemon=True).start()
        logger.info("status surface listening", extra={"address": f"{self._address[0]}:{self.port}"})
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        status, metrics = self._status, self._metrics

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    self._send(200, b"ok\n", "text/plain")
                elif path == "/readyz":
                    ready = status.ready
                    self._send(200 if ready else 503, b"ready\n" if ready else b"not ready\n", "text/plain")
                elif path == "/status":
                    self._send(200, orjson.dumps(status.to_json()), "application/json")
                elif path == "/metrics":
                    self._send(200, metrics.exposition(), CONTENT_TYPE_LATEST)
                else:
                    self._send(404, b"not found\n", "text/plain")

            def _send(self, code: int, body: bytes, content_type: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Scrapes are not events: no line per request."""

        return Handler
