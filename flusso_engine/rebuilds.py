"""Large live rebuilds: a change that affects thousands of documents, built a chunk per turn.

A category renamed under thousands of products rebuilds them all. Built whole, it made every
change behind it wait for its whole flush: 1.5-2 s for 2,700-4,300 product documents under the
B3 load, which alone made its p99. So the worker (pipeline.py) builds such a rebuild a chunk per
turn, and each turn first takes and builds the changes that arrived meanwhile; the batch that
asked for the rebuild is sealed with its last chunk, after the batches taken meanwhile, which the
acks allow: the slot passes a change only once it and every change before it are durable. Only
the changes of the tables that asked for the rebuild are held that long; the rest of their batch
is sealed at once (pipeline.py, `_hold_apart`).

Measured with B3's price changes at 400/s behind a tag on 4,456 products renamed every 0.5 s
(2026-12-03): p99 0.21-0.27 s; 11 s when a rename taken between two chunks was built whole, 3 s
with rebuilds taking turns, 1-1.5 s with renames merged too, before the split by table.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from flusso_engine.model import Change, Lsn, RowKey

#: Documents of one index a live batch may rebuild at once; more are built this many per turn.
REBUILD_CHUNK = 256

#: Documents the rebuilds queued behind the one under way may hold before the worker stops taking
#: new batches: the queue then fills and holds the capture back, so large rebuilds asked for
#: faster than the sink can follow grow no list of pending documents. The one under way does not
#: count: however large, it lets the changes behind it through.
REBUILD_BACKLOG = 65_536


@dataclass(slots=True)
class Held:
    """A live batch whose seal waits for its large rebuilds."""

    changes: list[Change]
    documents: dict[str, int]
    build_seconds: float
    #: Its rebuilds not yet built to the end: the batch is sealed when this reaches 0.
    rebuilds: int


@dataclass(slots=True)
class Rebuild:
    """One index's documents of a held batch, in key order, built REBUILD_CHUNK at a time."""

    index: str
    keys: list[RowKey]
    version: Lsn
    held: Held
    built: int = 0


class Rebuilds:
    """The large live rebuilds waiting for their turn, oldest first.

    A rebuild leaves out the documents an older one has still to build: those are built from the
    rows as they are by then, the newer change included, and the older rebuild finishes first,
    so the newer batch is still sealed only after them. A tag renamed again while its products are
    being rebuilt then costs only the documents already rebuilt, and renames faster than a whole
    rebuild take no more work than the sink can do.
    """

    def __init__(self) -> None:
        self._waiting: deque[Rebuild] = deque()
        self._unbuilt = 0  # documents still to build, over every rebuild waiting

    def __bool__(self) -> bool:
        return bool(self._waiting)

    @property
    def backlog(self) -> int:
        """Documents still to build by the rebuilds behind the oldest."""
        if not self._waiting:
            return 0
        oldest = self._waiting[0]
        return self._unbuilt - (len(oldest.keys) - oldest.built)

    def pending(self) -> dict[str, int]:
        """Documents still to build per index, over every rebuild waiting (none: an empty dict)."""
        documents: dict[str, int] = {}
        for rebuild in self._waiting:
            documents[rebuild.index] = documents.get(rebuild.index, 0) + len(rebuild.keys) - rebuild.built
        return documents

    def add(self, index: str, keys: set[RowKey], version: Lsn, held: Held) -> None:
        """Queue the rebuild of `keys` of `index` for `held`, less those an older one will build."""
        for older in self._waiting:
            if older.index == index:
                keys.difference_update(older.keys[older.built:])
        self._waiting.append(Rebuild(index, sorted(keys, key=key_order), version, held))
        self._unbuilt += len(keys)

    def next_chunk(self) -> tuple[Rebuild, list[RowKey]]:
        """The oldest rebuild and its next REBUILD_CHUNK keys, done with it when they are its last
        (no keys at all when older rebuilds took every one of them: it only waited its turn)."""
        rebuild = self._waiting[0]
        chunk = rebuild.keys[rebuild.built:rebuild.built + REBUILD_CHUNK]
        rebuild.built += len(chunk)
        self._unbuilt -= len(chunk)
        if rebuild.built == len(rebuild.keys):
            self._waiting.popleft()
            rebuild.held.rebuilds -= 1
        return rebuild, chunk


def key_order(key: RowKey) -> tuple[tuple[int, str], ...]:
    """Numeric order for integer keys in text form (shorter first), a stable order for any
    other: neighbouring keys then share chunks, which a builder can read as one key range."""
    return tuple([(len(value), value) for value in key])  # a list first: 0.6 µs a key less than a generator
