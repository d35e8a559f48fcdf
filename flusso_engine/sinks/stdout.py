"""The stdout sink: documents as bulk-style NDJSON, for piping, debugging and demos.

Each document is an action line (`{"index": {...}}` or `{"delete": {...}}`) followed, for an
upsert, by its body exactly as the builder produced it, so the default path never parses JSON.
Nothing is persisted, so it never claims an index is seeded unless told to, and it keeps no
backfill checkpoint: a backfill to stdout always starts over.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, BinaryIO

import orjson

from flusso_engine.model import Document, FlushReport, IndexSpec
from flusso_engine.sinks.protocol import Flushed


class StdoutSink:
    """Writes each flushed batch to a binary stream (stdout by default) in one write."""

    persistent = False

    def __init__(
        self, stream: BinaryIO | None = None, *, pretty: bool = False, seeded: bool = False
    ) -> None:
        self._stream = stream if stream is not None else sys.stdout.buffer
        self._pretty = pretty
        self._seeded = seeded
        self._pending: list[bytes] = []
        self._written = 0
        self._deleted = 0

    def ensure_index(self, index: IndexSpec) -> None:
        pass

    def is_seeded(self, index: str) -> bool:
        return self._seeded

    def mark_seeded(self, index: str) -> None:
        pass

    def checkpoint(self, index: str) -> Any | None:
        return None

    def save_checkpoint(self, index: str, checkpoint: Any) -> None:
        pass

    def reindex(self, index: str) -> None:
        pass

    def write(self, documents: Iterable[Document]) -> None:
        pending = self._pending
        for document in documents:
            target = {"_index": document.id.index, "_id": document.id.text}
            if document.body is None:
                pending.append(self._line({"delete": target}))
                self._deleted += 1
            else:
                pending.append(self._line({"index": target}))
                pending.append(self._body(document.body))
                self._written += 1

    def flush(self, caught_up: bool) -> Flushed:
        self._stream.write(b"".join(self._pending))
        self._stream.flush()
        report = FlushReport(written=self._written, deleted=self._deleted)
        self._pending.clear()
        self._written = self._deleted = 0
        return Flushed(report)

    def close(self) -> None:
        self._pending.clear()

    def _line(self, value: object) -> bytes:
        option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if self._pretty else 0)
        return orjson.dumps(value, option=option)

    def _body(self, body: bytes) -> bytes:
        """The body as-is, or re-indented when pretty output was asked for (the only parse)."""
        if self._pretty:
            return self._line(orjson.loads(body))
        return body if body.endswith(b"\n") else body + b"\n"
