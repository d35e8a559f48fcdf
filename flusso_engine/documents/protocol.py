"""The DocumentBuilder edge."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

from flusso_engine.model import Change, Document, IndexSpec, Lsn, RowKey


class DocumentBuilder(Protocol):
    """Turns changed rows into the documents they affect, in two steps.

    resolve and build are separate so the engine can dedup between them: a document touched by N
    changes in a batch is built once.
    """

    def indexes(self) -> Sequence[IndexSpec]:
        """Every enabled index with its root table and resolved mapping."""
        ...

    def resolve(self, changes: Sequence[Change]) -> dict[str, set[RowKey]]:
        """The root keys of every document the changes affect, per index name.

        Set-based: one lookup per table per call, not one per change.
        """
        ...

    def build(self, index: str, keys: Collection[RowKey], version: Lsn) -> list[Document]:
        """One Document per key: the assembled body, or a tombstone when the root row is
        missing, soft-deleted or filtered out. Every document carries a version of at least
        `version` and at least the source position its rows were read at, so that of two
        builds of one document the later one always has the higher version."""
        ...

    def build_page(self, index: str, after: RowKey | None, upto: RowKey, version: Lsn) -> list[Document]:
        """The documents of a backfill page of the index's root table: one per row with a key
        after `after` (from the first row when None) and up to `upto` that is a document, at a
        version as `build` gives it. A row that is not a document is left out, not tombstoned.

        A page names its documents itself, so it skips resolve; and the builder reads the range
        instead of a list of keys, so no key of a backfill is handled one by one.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
