"""resolve: every changed row maps to the root keys of every document that reads it."""

from __future__ import annotations

import time

import psycopg
import pytest

from flusso_engine.documents.postgres import PostgresDocumentBuilder
from flusso_engine.model import Op
from tests.documents.store import Builder, change, keys, users_schema

ID = "      - integer: id\n        required: true\n"
USERS = users_schema(
    "  - integer: id\n    required: true\n"
    "  - has_one: profile\n    table: profiles\n    foreign_key: user_id\n    primary_key: user_id\n"
    "    fields:\n      - text: headline\n        required: true\n"
    "  - has_many: orders\n    table: orders\n    foreign_key: user_id\n    primary_key: id\n    fields:\n" + ID +
    "      - has_many: items\n        table: order_items\n        foreign_key: order_id\n        primary_key: id\n"
    "        fields:\n          - keyword: sku\n            required: true\n"
    "  - many_to_many: tags\n    table: tags\n    primary_key: id\n"
    "    through: {table: user_tags, left_key: user_id, right_key: tag_id}\n    fields:\n" + ID +
    "  - count: favourites\n    table: tags\n    through: {table: favourites, left_key: user_id, right_key: tag_id}\n"
)
ORDERS = """version: 1
table: orders
primary_key: id
fields:
  - belongs_to: buyer
    table: users
    column: user_id
    primary_key: id
    fields:
      - keyword: email
        required: true
"""


@pytest.fixture
def users(store: psycopg.Connection, builder: Builder) -> PostgresDocumentBuilder:
    return builder(users=USERS)


def test_a_root_row_change_resolves_to_its_own_key(users: PostgresDocumentBuilder) -> None:
    assert users.resolve([change("users", "3")]) == {"users": keys("3")}


def test_a_primary_key_change_resolves_to_the_old_key_too(users: PostgresDocumentBuilder) -> None:
    assert users.resolve([change("users", "5", old_key=("3",))]) == {"users": keys("3", "5")}


def test_a_child_insert_resolves_to_its_parent(store: psycopg.Connection, users: PostgresDocumentBuilder) -> None:
    store.execute("INSERT INTO orders VALUES (13, 3, 'new', 1, now())")
    assert users.resolve([change("orders", "13", Op.INSERT)]) == {"users": keys("3")}


def test_a_child_delete_resolves_to_its_parent_from_the_old_tuple(
    store: psycopg.Connection, users: PostgresDocumentBuilder
) -> None:
    store.execute("DELETE FROM orders WHERE id = 20")
    deleted = change("orders", "20", Op.DELETE, old_values={"id": "20", "user_id": "2"})
    assert users.resolve([deleted]) == {"users": keys("2")}


def test_a_child_moved_to_another_parent_resolves_to_both(store: psycopg.Connection, users: PostgresDocumentBuilder) -> None:
    store.execute("UPDATE orders SET user_id = 3 WHERE id = 20")
    moved = change("orders", "20", Op.UPDATE, old_values={"id": "20", "user_id": "2"})
    assert users.resolve([moved]) == {"users": keys("2", "3")}


def test_a_child_keyed_by_its_foreign_key_resolves_without_an_old_tuple(
    store: psycopg.Connection, users: PostgresDocumentBuilder
) -> None:
    store.execute("DELETE FROM profiles WHERE user_id = 1")
    assert users.resolve([change("profiles", "1", Op.DELETE)]) == {"users": keys("1")}


def test_a_grandchild_change_climbs_every_hop_to_the_root(users: PostgresDocumentBuilder) -> None:
    assert users.resolve([change("order_items", "1002")]) == {"users": keys("1")}


def test_a_junction_insert_resolves_to_its_left_row(store: psycopg.Connection, users: PostgresDocumentBuilder) -> None:
    store.execute("INSERT INTO user_tags VALUES (3, 2)")
    assert users.resolve([change("user_tags", ("3", "2"), Op.INSERT)]) == {"users": keys("3")}


def test_a_junction_delete_resolves_from_its_key(store: psycopg.Connection, users: PostgresDocumentBuilder) -> None:
    store.execute("DELETE FROM user_tags WHERE user_id = 2")
    assert users.resolve([change("user_tags", ("2", "1"), Op.DELETE)]) == {"users": keys("2")}


def test_a_junction_delete_outside_its_key_resolves_from_the_old_tuple(
    store: psycopg.Connection, users: PostgresDocumentBuilder
) -> None:
    store.execute("DELETE FROM favourites WHERE id = 501")
    deleted = change("favourites", "501", Op.DELETE, old_values={"id": "501", "user_id": "2", "tag_id": "1"})
    assert users.resolve([deleted]) == {"users": keys("2")}


def test_a_far_table_change_resolves_through_the_junction(users: PostgresDocumentBuilder) -> None:
    assert users.resolve([change("tags", "1")]) == {"users": keys("1", "2")}


def test_a_far_table_of_an_aggregate_resolves_through_its_junction(users: PostgresDocumentBuilder) -> None:
    assert users.resolve([change("tags", "3")]) == {"users": keys("1")}


def test_a_referenced_row_change_rebuilds_every_referrer(store: psycopg.Connection, builder: Builder) -> None:
    orders = builder(orders=ORDERS)
    assert orders.resolve([change("users", "1")]) == {"orders": keys("10", "11", "12")}


def test_a_referenced_row_delete_rebuilds_its_dangling_referrers(store: psycopg.Connection, builder: Builder) -> None:
    orders = builder(orders=ORDERS)
    assert orders.resolve([change("users", "999", Op.DELETE)]) == {"orders": keys("30")}


def test_a_self_reference_resolves_the_old_and_new_manager(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - has_many: reports\n    table: users\n    foreign_key: manager_id\n    primary_key: id\n    fields:\n" + ID
    ))
    store.execute("UPDATE users SET manager_id = 3 WHERE id = 4")
    moved = change("users", "4", Op.UPDATE, old_values={"id": "4", "manager_id": "2"})
    assert b.resolve([moved]) == {"users": keys("4", "3", "2")}


def test_a_truncated_child_table_resolves_to_every_document(store: psycopg.Connection, users: PostgresDocumentBuilder) -> None:
    store.execute("TRUNCATE order_items")
    assert users.resolve([change("order_items", (), Op.TRUNCATE)]) == {"users": keys("1", "2", "3", "4")}


def test_a_table_of_another_schema_resolves_to_nothing(users: PostgresDocumentBuilder) -> None:
    assert users.resolve([change("orders", "10", schema="archive"), change("users", "1", schema="archive")]) == {}


def test_a_batch_resolves_per_index(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=USERS, orders=ORDERS)
    assert b.resolve([change("users", "2"), change("order_items", "1000")]) == {
        "users": keys("1", "2"), "orders": keys("20"),
    }


def test_ten_thousand_child_changes_resolve_in_one_batch_under_a_second(
    store: psycopg.Connection, users: PostgresDocumentBuilder
) -> None:
    store.execute("INSERT INTO order_items SELECT g, 10 + g % 3, 'sku', 1 FROM generate_series(2000, 11999) AS g")
    batch = [change("order_items", str(k)) for k in range(2000, 12000)]
    started = time.perf_counter()
    resolved = users.resolve(batch)
    assert time.perf_counter() - started < 1.0
    assert resolved == {"users": keys("1")}
