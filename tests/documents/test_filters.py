"""Filters compare as their column's type does, and every operator selects what it names."""

from __future__ import annotations

import psycopg
import pytest

from tests.documents.store import Builder, body, users_schema


def count_orders_where(builder: Builder, condition: str) -> int:
    b = builder(users=users_schema(
        "  - count: n\n    table: orders\n    foreign_key: user_id\n" f"    filters:\n      - {condition}\n"
    ))
    return body(b, "users", "1")["n"]


@pytest.mark.parametrize(("condition", "expected"), [
    ("{column: status, op: eq, value: fulfilled}", 2),
    ("{column: status, op: neq, value: fulfilled}", 1),
    ("{column: status, op: lt, value: m}", 2),
    ("{column: status, op: lte, value: fulfilled}", 2),
    ("{column: status, op: gt, value: m}", 1),
    ("{column: status, op: gte, value: pending}", 1),
    ("{column: status, op: like, value: 'ful%'}", 2),
    ("{column: status, op: ilike, value: 'FUL%'}", 2),
    ("{column: status, op: in, value: [fulfilled, pending]}", 3),
    ("{column: status, op: not_in, value: [pending]}", 2),
    ("{column: total, op: between, value: [10, 50]}", 1),
    ("{column: total, op: gt, value: 9}", 2),
    ("{column: total, op: in, value: [5.00, 100.00]}", 2),
    ("{column: placed_at, op: gt, value: '2021-01-15T00:00:00Z'}", 2),
    ("{column: status, op: is_not_null}", 3),
    ("{column: status, op: is_null}", 0),
    ("{raw: \"status = 'pending'\"}", 1),
])
def test_filter_operator_selects_the_matching_rows(
    store: psycopg.Connection, builder: Builder, condition: str, expected: int
) -> None:
    assert count_orders_where(builder, condition) == expected
