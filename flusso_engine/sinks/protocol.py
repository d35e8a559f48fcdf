"""The Sink edge."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from flusso_engine.model import Document, FlushReport, IndexSpec


class Sink(Protocol):
    """Buffers documents, makes them durable on flush, and decides what needs seeding."""

    #: False for a sink that keeps nothing (stdout): fanned out with persistent sinks, it must
    #: not make them re-seed on every start.
    persistent: bool

    def ensure_index(self, index: IndexSpec) -> None:
        """Create the index with its mapping if absent. Idempotent; called on every start."""
        ...

    def is_seeded(self, index: str) -> bool:
        """Whether the initial backfill of `index` completed here."""
        ...

    def mark_seeded(self, index: str) -> None:
        """Record that the backfill of `index` completed; called after its last flush."""
        ...

    def checkpoint(self, index: str) -> Any | None:
        """The checkpoint last saved for the unfinished backfill of `index`, or None.

        It belongs to the build it was saved for: a sink that starts a new build of `index`, or
        completes one, forgets it, so a checkpoint never outlives the documents it vouches for.
        """
        ...

    def save_checkpoint(self, index: str, checkpoint: Any) -> None:
        """Keep opaque JSON `checkpoint` for the backfill of `index` under way; the engine calls
        it only after the flush of every document the checkpoint covers."""
        ...

    def write(self, documents: Iterable[Document]) -> None:
        """Add documents (or tombstones) to the buffer; nothing is durable until flush."""
        ...

    def flush(self, caught_up: bool) -> FlushReport:
        """Make the buffer durable.

        Raises FlushError when the flush as a whole failed (nothing may be acked); returns the
        item-level rejections otherwise. `caught_up` says the queue is drained, so the sink may
        pay for visibility (a refresh) now.
        """
        ...

    def reindex(self, index: str) -> None:
        """Start a from-scratch rebuild of `index` without disturbing reads."""
        ...

    def close(self) -> None:
        """Release connections; unflushed documents are dropped (their changes redeliver)."""
        ...
