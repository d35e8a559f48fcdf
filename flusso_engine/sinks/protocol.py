"""The Sink edge."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flusso_engine.model import Document, FlushReport, IndexSpec


class Flushing(Protocol):
    """A flush under way: the documents written before it, on their way to being durable.

    Splitting the flush from waiting for it lets the caller write the next batch while the
    node still indexes the tail of this one, so the node never idles at a batch boundary.
    """

    def done(self) -> bool:
        """Whether `result` would return (or raise) without waiting."""
        ...

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call `callback` once `done` is true: at once if it already is, else on the thread that
        completes the flush, so it must be quick and must never block. It lets the caller sleep
        until a flush ends instead of asking `done` again and again."""
        ...

    def result(self) -> FlushReport:
        """Wait until the flush's documents are durable; raises FlushError when the flush as a
        whole failed (nothing may be acked), returns the item-level rejections otherwise.
        Called once per flush, in the order of the flushes."""
        ...


@dataclass(frozen=True, slots=True)
class Flushed:
    """A flush that was complete when it was returned: a sink that writes synchronously."""

    report: FlushReport

    def done(self) -> bool:
        return True

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        callback()

    def result(self) -> FlushReport:
        return self.report


class _DoneCallbacks(Protocol):
    """A part of a flush that reports its end: a bulk request's Future, another sink's Flushing."""

    def add_done_callback(self, callback: Callable[..., None], /) -> None: ...


def when_all_done(parts: Sequence[_DoneCallbacks], callback: Callable[[], None]) -> None:
    """Call `callback` once, when every one of `parts` is done (at once for none): a flush made of
    several (requests, sinks) is done when they all are."""
    countdown = _Countdown(len(parts), callback)
    for part in parts:
        part.add_done_callback(countdown.part_done)


class _Countdown:
    def __init__(self, parts: int, callback: Callable[[], None]) -> None:
        self._left = parts
        self._callback = callback
        self._lock = threading.Lock()
        if parts == 0:
            callback()

    def part_done(self, *_: object) -> None:
        """Takes and ignores what the part passes (a Future passes itself)."""
        with self._lock:
            self._left -= 1
            last = self._left == 0
        if last:
            self._callback()


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

    def flush(self, caught_up: bool) -> Flushing:
        """Start making the buffer durable, and return the flush to wait for.

        Documents written after this call belong to the next flush. Raises FlushError when the
        flush cannot even start. `caught_up` says the queue is drained, so the sink may pay for
        visibility (a refresh) once the flush completes.
        """
        ...

    def reindex(self, index: str) -> None:
        """Start a from-scratch rebuild of `index` without disturbing reads."""
        ...

    def close(self) -> None:
        """Release connections; unflushed documents are dropped (their changes redeliver)."""
        ...
