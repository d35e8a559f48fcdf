"""A sink that hands every call to another: the base of decorators that change one behaviour.

Front ends decorate the configured sink (count what it wrote, answer `is_seeded` differently)
without knowing which sink it is; subclasses override only the call they change.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from flusso_engine.model import Document, IndexSpec
from flusso_engine.sinks.protocol import Flushing, Sink


class ForwardingSink:
    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.persistent = inner.persistent

    def ensure_index(self, index: IndexSpec) -> None:
        self.inner.ensure_index(index)

    def is_seeded(self, index: str) -> bool:
        return self.inner.is_seeded(index)

    def mark_seeded(self, index: str) -> None:
        self.inner.mark_seeded(index)

    def checkpoint(self, index: str) -> Any | None:
        return self.inner.checkpoint(index)

    def save_checkpoint(self, index: str, checkpoint: Any) -> None:
        self.inner.save_checkpoint(index, checkpoint)

    def write(self, documents: Iterable[Document]) -> None:
        self.inner.write(documents)

    def flush(self, caught_up: bool) -> Flushing:
        return self.inner.flush(caught_up)

    def reindex(self, index: str) -> None:
        self.inner.reindex(index)

    def close(self) -> None:
        self.inner.close()


class RebuildSink(ForwardingSink):
    """Starts a new generation of each of `rebuild` as soon as it is ensured and reports it
    unseeded, so the engine's ordinary backfill fills that generation and `mark_seeded` swaps it
    in: a zero-downtime rebuild with no special path through the engine."""

    def __init__(self, inner: Sink, rebuild: Collection[str]) -> None:
        super().__init__(inner)
        self.rebuild = frozenset(rebuild)

    def ensure_index(self, index: IndexSpec) -> None:
        self.inner.ensure_index(index)
        if index.name in self.rebuild:
            self.inner.reindex(index.name)

    def is_seeded(self, index: str) -> bool:
        return index not in self.rebuild and self.inner.is_seeded(index)
