"""Identifiers and literals safe inside a statement that also takes `%s` parameters.

psycopg quotes identifiers and literals, but then scans the whole statement for `%`
placeholders, so a `%` inside a quoted name or value (`LIKE 'ful%'`, a table named `a%s`) would
break the statement or bind the wrong parameter. Doubling `%` in exactly those parts keeps them
verbatim; everything the builder renders goes through these two functions.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.abc import AdaptContext


class _PercentEscaped(sql.Composable):
    def __init__(self, inner: sql.Composable) -> None:
        super().__init__(inner)
        self._inner = inner

    def as_bytes(self, context: AdaptContext | None = None) -> bytes:
        return self._inner.as_bytes(context).replace(b"%", b"%%")


def name(*parts: str) -> sql.Composable:
    """A (possibly qualified) identifier."""
    return _PercentEscaped(sql.Identifier(*parts))


def literal(value: Any) -> sql.Composable:
    return _PercentEscaped(sql.Literal(value))


def verbatim(text: str) -> sql.Composable:
    """SQL text taken as written: a schema's raw filter, or a type name from `format_type`."""
    return _PercentEscaped(sql.SQL(text))
