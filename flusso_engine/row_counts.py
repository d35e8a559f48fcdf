"""How many rows each root table holds: the denominators of backfill progress.

One count(*) per root table, once, when a backfill starts. On a very large table that is a
full scan, paid once next to the backfill's own full read of the same table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import psycopg
from psycopg import sql

from flusso_engine.connection_names import named
from flusso_engine.schema import Config

logger = logging.getLogger("flusso.run")


def root_row_counts(config: Config, indexes: Sequence[str]) -> dict[str, int]:
    """Rows of each named index's root table."""
    chosen = [index for index in config.enabled_indexes() if index.name in indexes]
    counts: dict[str, int] = {}
    with psycopg.connect(named(config.source.url.get_secret_value(), "report"), autocommit=True, connect_timeout=5) as conn:
        for index in chosen:
            schema = index.index_schema
            query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema.db_schema), sql.Identifier(schema.table))
            row = conn.execute(query).fetchone()
            counts[index.name] = int(row[0]) if row else 0
    return counts


def backfill_totals(config: Config) -> Callable[[Sequence[str]], dict[str, int]]:
    """`root_row_counts` for progress lines, where a failed count only costs the ETA."""

    def count(indexes: Sequence[str]) -> dict[str, int]:
        try:
            return root_row_counts(config, indexes)
        except psycopg.Error as error:
            logger.warning("cannot count the rows to backfill: %s", str(error).strip().splitlines()[0])
            return {}

    return count
