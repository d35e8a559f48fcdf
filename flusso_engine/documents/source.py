"""The builder's one connection to the source database, and what its failures mean.

Autocommit: every statement reads its own fresh snapshot and nothing is left idle in a
transaction between batches. A lost connection is a transient BuildError (the engine retries the
batch) and is replaced on the next statement; any other database error is permanent.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.string import ByteaBinaryLoader

from flusso_engine.errors import BuildError


class SourceConnection:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.Connection | None = None

    def rows(self, statement: sql.Composable | str, params: Any = None, *, binary: bool = False) -> list[tuple[Any, ...]]:
        """Every row of one statement; `binary` reads json documents as their bytes."""
        try:
            return self._connection().execute(statement, params, binary=binary).fetchall()
        except psycopg.OperationalError as exc:
            self.close()
            error = BuildError(f"the Postgres source failed: {exc}")
            error.transient = True
            raise error from exc
        except psycopg.Error as exc:
            raise BuildError(f"a document query failed: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self._conninfo, autocommit=True)
            # In binary format a json value is exactly its text: psycopg's C bytea loader hands
            # it over as bytes, so a document reaches the sink with no parse and no decode.
            conn.adapters.register_loader("json", ByteaBinaryLoader)
            self._conn = conn
        return self._conn
