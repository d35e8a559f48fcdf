"""The builder's one connection to the source database, and what its failures mean.

Autocommit: every statement reads its own fresh snapshot and nothing is left idle in a
transaction between batches. A lost connection is a transient BuildError (the engine retries the
batch) and is replaced on the next statement; any other database error is permanent.

Composed statements are rendered once per connection. psycopg renders a `sql.Composed` anew on
every execute, walking its whole tree: 0.2-0.5 ms for a document statement, more than reading
fifty documents, and paid by every build and every resolve hop. The builder and the resolver
compose each statement once and reuse it, so they are rendered once and kept by identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.string import ByteaBinaryLoader

from flusso_engine.connection_names import named
from flusso_engine.errors import BuildError


#: Rendered statements a connection keeps. The builder and the resolver reuse a few dozen; the
#: bound only keeps a caller that composes a new statement per call from growing it forever.
RENDERED_CAPACITY = 512


class SourceConnection:
    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.Connection | None = None
        #: id(statement) -> (statement, its rendering on this connection); the statement is held
        #: so that its id cannot be reused by another while the entry lives.
        self._rendered: dict[int, tuple[sql.Composable, bytes]] = {}

    def rows(self, statement: sql.Composable | str, params: Any = None, *, binary: bool = False) -> list[tuple[Any, ...]]:
        """Every row of one statement; `binary` reads json documents as their bytes."""
        with self._translated_errors():
            conn = self._connection()
            return conn.execute(self._render(statement, conn), params, binary=binary).fetchall()

    def stream(self, statement: sql.Composable, params: Any, *, size: int) -> Iterator[tuple[Any, ...]]:
        """The rows of one statement, json as bytes, handed over `size` at a time as the server
        produces them: the caller works on the first rows while the server computes the rest,
        which a statement per chunk of keys cannot do (each waits for the previous one's rows)."""
        with self._translated_errors():
            conn = self._connection()
            yield from conn.cursor(binary=True).stream(self._render(statement, conn), params, size=size)

    @contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except psycopg.OperationalError as exc:
            self.close()
            error = BuildError(f"the Postgres source failed: {exc}")
            error.transient = True
            raise error from exc
        except psycopg.Error as exc:
            raise BuildError(f"a document query failed: {exc}") from exc

    def close(self) -> None:
        self._rendered.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _render(self, statement: sql.Composable | str, conn: psycopg.Connection) -> bytes | str:
        if isinstance(statement, str):
            return statement
        held = self._rendered.get(id(statement))
        if held is None or held[0] is not statement:
            if len(self._rendered) >= RENDERED_CAPACITY:
                self._rendered.clear()
            held = self._rendered[id(statement)] = (statement, statement.as_bytes(conn))
        return held[1]

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._rendered.clear()  # renderings follow the connection's settings (encoding)
            conn = psycopg.connect(named(self._conninfo, "build"), autocommit=True)
            # In binary format a json value is exactly its text: psycopg's C bytea loader hands
            # it over as bytes, so a document reaches the sink with no parse and no decode.
            conn.adapters.register_loader("json", ByteaBinaryLoader)
            # A document statement over a backfill batch is costed high enough for Postgres to
            # JIT-compile it, and it compiles anew on every execution: half a second for 8192
            # nested orders, a third of the statement's time, to speed up subplans that each
            # read a few rows by index. Off, the same statement ran 35 % faster.
            conn.execute("SET jit = off")
            # A document statement reads each related table once per document, through a subplan.
            # With the default random_page_cost (4, a spinning disk's) the planner prices an index
            # probe of a small table (155 categories, 400 tags) above scanning it whole, and then
            # scans it for every document: 113 against 38 µs per product document, measured. The
            # rows a build reads are mostly cached (they were just written, or are read in key
            # order), where a random page costs about what a sequential one does.
            conn.execute("SET random_page_cost = 1.1")
            self._conn = conn
        return self._conn
