"""The shared test store, schema snippets and helpers for the documents specifications."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from flusso_engine.documents.postgres import PostgresDocumentBuilder
from flusso_engine.model import Ack, Change, Op, RowKey, TableRef

STORE = """
CREATE TABLE users (
    id int PRIMARY KEY, email text, bio text, status text, archived boolean NOT NULL DEFAULT false,
    deleted_at timestamptz, lat float8, lon float8, prefs jsonb, manager_id int
);
CREATE TABLE profiles (user_id int PRIMARY KEY, headline text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, status text, total numeric(10,2), placed_at timestamptz);
CREATE TABLE order_items (id int PRIMARY KEY, order_id int, sku text, qty int);
CREATE TABLE tags (id int PRIMARY KEY, label text);
CREATE TABLE user_tags (user_id int, tag_id int, PRIMARY KEY (user_id, tag_id));
CREATE TABLE favourites (id int PRIMARY KEY, user_id int, tag_id int);

INSERT INTO users VALUES
    (1, '  ADA@X.IO  ', NULL, 'active', false, NULL, 45.5, 9.25, '{"lang": "it", "n": 1}', NULL),
    (2, 'bob@x.io', 'hi', 'banned', true, NULL, NULL, NULL, NULL, 1),
    (3, 'cy@x.io', 'yo', 'active', true, NULL, NULL, NULL, NULL, 1),
    (4, 'di@x.io', 'ok', 'active', false, '2024-01-01 00:00+00', NULL, NULL, NULL, 2);
INSERT INTO profiles VALUES (1, 'engineer');
INSERT INTO orders VALUES
    (10, 1, 'fulfilled', 19.99, '2021-01-10 10:00+00'),
    (11, 1, 'pending', 5.00, '2021-02-10 10:00+00'),
    (12, 1, 'fulfilled', 100.00, '2021-03-10 10:00+00'),
    (20, 2, 'fulfilled', 1.00, '2021-01-01 10:00+00'),
    (30, 999, 'pending', 2.00, '2021-01-01 10:00+00');
INSERT INTO order_items VALUES (1000, 12, 'sku-b', 1), (1001, 12, 'sku-a', 2), (1002, 11, 'sku-c', 3);
INSERT INTO tags VALUES (1, 'red'), (2, 'green'), (3, 'blue');
INSERT INTO user_tags VALUES (1, 1), (1, 2), (1, 3), (2, 1);
INSERT INTO favourites VALUES (500, 1, 3), (501, 2, 1);
"""

USERS = TableRef("public", "users")


def users_schema(fields: str, extra: str = "") -> str:
    """A `users` index schema with the given field list (YAML, indented two spaces)."""
    return f"version: 1\ntable: users\nprimary_key: id\n{extra}fields:\n{fields}"


def change(table: str, key: RowKey | str, op: Op = Op.UPDATE, schema: str = "public", **kwargs: Any) -> Change:
    key = (key,) if isinstance(key, str) else key
    return Change(op=op, table=TableRef(schema, table), key=key, ack=Ack(seq=1, lsn=1), **kwargs)


def keys(*values: str) -> set[RowKey]:
    return {(v,) for v in values}


Builder = Callable[..., PostgresDocumentBuilder]


def body(builder: PostgresDocumentBuilder, index: str, key: str | RowKey) -> Any:
    """The parsed document for one key, or None for a tombstone."""
    key = (key,) if isinstance(key, str) else key
    [document] = builder.build(index, [key], version=1)
    return None if document.body is None else orjson.loads(document.body)
