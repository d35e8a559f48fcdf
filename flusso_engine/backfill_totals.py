"""How many documents each index being seeded should hold: the denominators of backfill progress.

A backfill reports the documents it has written, and a root row that the index's filters or soft
delete reject is no document, so the total is counted by the same rules as the documents (the
builder's count statement), once, when a backfill starts. On a very large table that is a full
scan, paid once next to the backfill's own full read of the same table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import psycopg

from flusso_engine.backends import build_builder
from flusso_engine.errors import FlussoError
from flusso_engine.schema import Config

logger = logging.getLogger("flusso.run")


def document_totals(config: Config, indexes: Sequence[str]) -> dict[str, int]:
    """The documents each named index should hold now."""
    chosen = [index for index in config.enabled_indexes() if index.name in indexes]
    builder = build_builder(config, chosen)
    try:
        return {index.name: builder.document_count(index.name) for index in chosen}
    finally:
        builder.close()


def backfill_totals(config: Config) -> Callable[[Sequence[str]], dict[str, int]]:
    """`document_totals` for progress lines, where a failed count only costs the ETA."""

    def count(indexes: Sequence[str]) -> dict[str, int]:
        try:
            return document_totals(config, indexes)
        except (psycopg.Error, FlussoError) as error:
            logger.warning("cannot count the documents to backfill: %s", str(error).strip().splitlines()[0])
            return {}

    return count
