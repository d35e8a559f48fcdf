"""The engine's vocabulary, shared by every edge.

Kept free of behaviour and of any backend so that capture, queue, documents and sinks can all
depend on it without depending on each other.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, NamedTuple

#: A primary key in canonical form: each key column's value in Postgres text output form, in
#: primary-key column order. pgoutput sends tuples in exactly that form and `col::text` reads it
#: back, so a key from the WAL and a key read from a table compare equal for every type (int,
#: uuid, date, timestamp, bytea, numeric, composite) without per-type conversion.
RowKey = tuple[str, ...]

#: The log position of a change: a Postgres LSN as an integer. Monotone per source; used both
#: to acknowledge changes and as the document version that keeps stale writes from winning.
Lsn = int


@dataclass(frozen=True, slots=True, order=True)
class TableRef:
    """A table by schema and name, the way pgoutput's Relation message names it."""

    schema: str
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


class Op(enum.Enum):
    """What happened to a row. SNAPSHOT is a page of rows a backfill reads (see Change), applied
    like upserts."""

    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    TRUNCATE = "truncate"
    SNAPSHOT = "snapshot"


# Ack and Change are made once per row change on the capture thread, the hottest path there is:
# not frozen, because a frozen dataclass sets each field through object.__setattr__, which made
# constructing them five times slower (1.7 against 0.35 µs for Change's eight fields). Treat them
# as immutable all the same; nothing hashes them.


@dataclass(slots=True)
class Ack:
    """The token a capture hands out with a change and takes back once it is durable downstream.

    `seq` orders changes within one capture session; `lsn` is the commit position the capture may
    report as flushed once every change up to `seq` is confirmed.
    """

    seq: int
    lsn: Lsn


@dataclass(slots=True)
class Change:
    """A thin change: it names a row, never carries its contents.

    Documents are always rebuilt from the current rows, so redelivering a change is harmless.
    `old_values` holds the old tuple's columns the replica identity provided (primary key and,
    with REPLICA IDENTITY FULL, foreign keys), so a child delete or a foreign-key move can rebuild
    the parent it left. `old_key` is set when an update changed the primary key itself.

    A SNAPSHOT change names a page of rows instead: those with a key after `old_key` (from the
    table's first row when it is None) and up to `key`, in primary-key order. A backfill reads a
    root table's rows page by page when it builds them, so no key of it is handled one by one.
    """

    op: Op
    table: TableRef
    key: RowKey
    ack: Ack
    commit_time: float | None = None
    old_key: RowKey | None = None
    old_values: dict[str, str | None] | None = None
    #: The 32-bit id of the transaction that made a live change (None for a snapshot row): the
    #: builder waits until it is visible before reading rows for it (documents/visibility.py).
    xid: int | None = None


class DocId(NamedTuple):
    """A document: its logical index and its root row's canonical key.

    A named tuple, not a frozen dataclass: one is made for every document built, and ids are
    hashed by every batch, buffer and cache they pass through; a tuple is made in half the time
    and hashed in C (0.33 against 0.67 µs to make, 0.06 against 0.15 to hash)."""

    index: str
    key: RowKey

    @property
    def text(self) -> str:
        """The `_id` a sink stores: key values joined by ':' (the reference's form)."""
        return ":".join(self.key)


# Not frozen, like Change: one is made per document built, and a frozen dataclass took three
# times as long to make (0.61 against 0.18 µs). Treat it as immutable all the same.
@dataclass(slots=True)
class Document:
    """An assembled document, or a tombstone when `body` is None.

    `body` is JSON text as the builder produced it, so it reaches the sink's bulk body without a
    parse/serialize round trip. `version` is the source position the body is at least as new as;
    a sink uses it so that a document built from an older state never overwrites a newer one.
    """

    id: DocId
    body: bytes | None
    version: Lsn = 0

    @property
    def is_tombstone(self) -> bool:
        return self.body is None


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """What the engine needs to know of an index: its name, root table and resolved mapping."""

    name: str
    root: TableRef
    mapping: dict[str, Any]
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One document the sink refused while the flush as a whole succeeded."""

    id: DocId
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class FlushReport:
    """The outcome of a successful flush: what was written and which items were refused."""

    written: int = 0
    deleted: int = 0
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)

    @property
    def is_clean(self) -> bool:
        return not self.rejected
