"""A schema naming what the database lacks fails at start-up, saying which index and field."""

from __future__ import annotations

import psycopg
import pytest

from flusso_engine.errors import BuildError
from tests.documents.store import Builder, users_schema


def test_an_unknown_column_names_the_index_field_and_table(store: psycopg.Connection, builder: Builder) -> None:
    schema = users_schema(
        "  - has_many: orders\n    table: orders\n    foreign_key: buyer_id\n    primary_key: id\n"
        "    fields:\n      - integer: id\n        required: true\n"
    )
    with pytest.raises(BuildError, match=r"index 'users' field 'orders': table public.orders has no column 'buyer_id'"):
        builder(users=schema)


def test_an_unknown_table_names_the_index(store: psycopg.Connection, builder: Builder) -> None:
    with pytest.raises(BuildError, match=r"index 'people': table public.people does not exist"):
        builder(people="version: 1\ntable: people\nprimary_key: id\nfields:\n  - integer: id\n    required: true\n")


def test_an_unknown_scalar_column_fails_before_any_build(store: psycopg.Connection, builder: Builder) -> None:
    with pytest.raises(BuildError, match=r"field 'nick': table public.users has no column 'nick'"):
        builder(users=users_schema("  - keyword: nick\n    required: true\n"))


def test_an_unknown_order_by_column_fails_before_any_build(store: psycopg.Connection, builder: Builder) -> None:
    schema = users_schema(
        "  - has_many: orders\n    table: orders\n    foreign_key: user_id\n    primary_key: id\n"
        "    order_by:\n      - {column: placed}\n    fields:\n      - integer: id\n        required: true\n"
    )
    with pytest.raises(BuildError, match=r"field 'orders': table public.orders has no column 'placed'"):
        builder(users=schema)
