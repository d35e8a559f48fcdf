"""Every schema feature assembles the document the schema describes."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from flusso_engine.documents.assemble import document_query
from flusso_engine.documents.catalog import Catalog
from flusso_engine.documents.plan import compile_plan, table_refs
from flusso_engine.documents.source import SourceConnection
from flusso_engine.schema import parse_index_schema
from tests.documents.store import Builder, body, users_schema

ORDERS_SCHEMA = """version: 1
table: orders
primary_key: id
fields:
  - integer: id
    required: true
  - belongs_to: buyer
    table: users
    column: user_id
    primary_key: id
    fields:
      - keyword: email
        required: true
"""


PROFILE_HAS_ONE = (
    "  - has_one: profile\n    table: profiles\n    foreign_key: user_id\n    primary_key: user_id\n"
    "    fields:\n      - text: headline\n        required: true\n"
)


def test_columns_are_read_under_their_field_names(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - integer: id\n    required: true\n  - keyword: mail\n    column: email\n    required: true\n"))
    assert body(b, "users", "2") == {"id": 2, "mail": "bob@x.io"}


def test_object_groups_columns_of_the_same_row(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - object: contact\n    fields:\n      - keyword: email\n        required: true\n"
        "      - text: bio\n        required: false\n"
    ))
    assert body(b, "users", "2")["contact"] == {"email": "bob@x.io", "bio": "hi"}


def test_transforms_apply_in_the_listed_order(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - keyword: email\n    required: true\n    transforms: [trim, lowercase]\n"))
    assert body(b, "users", "1")["email"] == "ada@x.io"


def test_default_replaces_a_null_column(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - text: bio\n    required: true\n    default: (no bio)\n"))
    assert [body(b, "users", k)["bio"] for k in ("1", "2")] == ["(no bio)", "hi"]


def test_constant_is_written_into_every_document(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - constant: source\n    value: {origin: seed, tier: 2}\n"))
    assert body(b, "users", "1")["source"] == {"origin": "seed", "tier": 2}


def test_geo_point_from_lat_and_lon_columns_is_null_when_either_is(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - geo: location\n    lat: lat\n    lon: lon\n    required: false\n"))
    assert body(b, "users", "1")["location"] == {"lat": 45.5, "lon": 9.25}
    assert body(b, "users", "2")["location"] is None


def test_map_reads_a_jsonb_column_as_an_object(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - map: prefs\n    values: keyword\n    required: false\n"))
    assert body(b, "users", "1")["prefs"] == {"lang": "it", "n": 1}


def test_belongs_to_embeds_the_referenced_row_or_null_when_dangling(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(orders=ORDERS_SCHEMA)
    assert body(b, "orders", "10")["buyer"] == {"email": "  ADA@X.IO  "}
    assert body(b, "orders", "30")["buyer"] is None


def test_has_one_embeds_the_row_pointing_back_or_null(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(PROFILE_HAS_ONE))
    assert body(b, "users", "1")["profile"] == {"headline": "engineer"}
    assert body(b, "users", "2")["profile"] is None


HAS_MANY_ORDERS = (
    "  - has_many: orders\n    table: orders\n    foreign_key: user_id\n    primary_key: id\n{extra}"
    "    fields:\n      - integer: id\n        required: true\n"
)
ORDER_COUNT = "  - count: orderCount\n    table: orders\n    foreign_key: user_id\n"


def test_has_many_is_ordered_and_limited(store: psycopg.Connection, builder: Builder) -> None:
    extra = "    order_by:\n      - {column: placed_at, direction: desc}\n    limit: 2\n"
    b = builder(users=users_schema(HAS_MANY_ORDERS.format(extra=extra)))
    assert body(b, "users", "1")["orders"] == [{"id": 12}, {"id": 11}]


def test_has_many_without_rows_is_an_empty_array(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(HAS_MANY_ORDERS.format(extra="")))
    assert body(b, "users", "3")["orders"] == []


def test_join_filters_select_the_related_rows(store: psycopg.Connection, builder: Builder) -> None:
    extra = "    filters:\n      - {column: status, op: eq, value: fulfilled}\n"
    b = builder(users=users_schema(HAS_MANY_ORDERS.format(extra=extra)))
    assert body(b, "users", "1")["orders"] == [{"id": 10}, {"id": 12}]


def test_relations_nest_to_any_depth(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        HAS_MANY_ORDERS.format(extra="") +
        "      - has_many: items\n        table: order_items\n        foreign_key: order_id\n        primary_key: id\n"
        "        order_by:\n          - {column: sku}\n"
        "        fields:\n          - keyword: sku\n            required: true\n"
    ))
    assert body(b, "users", "1")["orders"] == [
        {"id": 10, "items": []}, {"id": 11, "items": [{"sku": "sku-c"}]},
        {"id": 12, "items": [{"sku": "sku-a"}, {"sku": "sku-b"}]},
    ]


def test_many_to_many_reads_the_far_rows_through_the_junction(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - many_to_many: tags\n    table: tags\n    primary_key: id\n"
        "    through: {table: user_tags, left_key: user_id, right_key: tag_id}\n"
        "    order_by:\n      - {column: label}\n    fields:\n      - keyword: label\n        required: true\n"
    ))
    assert body(b, "users", "1")["tags"] == [{"label": "blue"}, {"label": "green"}, {"label": "red"}]
    assert body(b, "users", "3")["tags"] == []


def test_aggregates_reduce_the_related_rows(store: psycopg.Connection, builder: Builder) -> None:
    rollups = "".join(
        f"  - {op}: {op}Total\n    table: orders\n    column: total\n    value_type: decimal\n    foreign_key: user_id\n"
        for op in ("sum", "min", "max")
    )
    b = builder(users=users_schema(
        "  - count: orderCount\n    table: orders\n    foreign_key: user_id\n"
        "  - avg: avgTotal\n    table: orders\n    column: total\n    foreign_key: user_id\n" + rollups
    ))
    doc = body(b, "users", "1")
    assert (doc["orderCount"], doc["sumTotal"], doc["minTotal"], doc["maxTotal"]) == (3, 124.99, 5.00, 100.00)
    assert doc["avgTotal"] == pytest.approx(124.99 / 3)


def test_aggregates_over_no_rows_are_zero_count_and_null_values(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - count: orderCount\n    table: orders\n    foreign_key: user_id\n"
        "  - max: maxTotal\n    table: orders\n    column: total\n    value_type: decimal\n    foreign_key: user_id\n"
    ))
    assert body(b, "users", "3") == {"orderCount": 0, "maxTotal": None}


def test_aggregate_filters_select_the_rows_reduced(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - count: fulfilled\n    table: orders\n    foreign_key: user_id\n"
        "    filters:\n      - {column: status, op: eq, value: fulfilled}\n"
    ))
    assert body(b, "users", "1")["fulfilled"] == 2


def test_aggregates_of_one_table_with_different_filters_each_reduce_their_own_rows(
    store: psycopg.Connection, builder: Builder,
) -> None:
    b = builder(users=users_schema(
        ORDER_COUNT +
        "  - count: fulfilled\n    table: orders\n    foreign_key: user_id\n"
        "    filters:\n      - {column: status, op: eq, value: fulfilled}\n"
        "  - sum: pendingTotal\n    table: orders\n    column: total\n    value_type: decimal\n    foreign_key: user_id\n"
        "    filters:\n      - {column: status, op: eq, value: pending}\n"
        "  - ids: orderIds\n    table: orders\n    element_type: integer\n    foreign_key: user_id\n"
    ))
    assert body(b, "users", "1") == {"orderCount": 3, "fulfilled": 2, "pendingTotal": 5.00, "orderIds": [10, 11, 12]}


def test_an_array_and_a_count_of_the_same_rows_both_read_every_row(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(HAS_MANY_ORDERS.format(extra="") + ORDER_COUNT))
    document = body(b, "users", "1")
    assert (document["orders"], document["orderCount"]) == ([{"id": 10}, {"id": 11}, {"id": 12}], 3)


def explained(store: psycopg.Connection, database_url: str, schema_file: Path, fields: str) -> list[str]:
    """The plan lines of the users index's statement for one key."""
    schema_file.write_text(users_schema(fields))
    schema = parse_index_schema(schema_file)
    source = SourceConnection(database_url)
    try:
        query = document_query(compile_plan("users", schema, Catalog.load(source, table_refs(schema))))
    finally:
        source.close()
    return [line for (line,) in store.execute(sql.SQL("EXPLAIN (COSTS OFF) {}").format(query.by_keys), [["1"]])]


def test_an_array_and_a_count_of_the_same_rows_read_them_by_one_scan(
    store: psycopg.Connection, pg_database_url: str, tmp_path: Path,
) -> None:
    plan = explained(store, pg_database_url, tmp_path / "users.schema.yml", HAS_MANY_ORDERS.format(extra="") + ORDER_COUNT)
    assert sum(" on orders " in line for line in plan) == 1


def test_objects_are_read_beside_their_row_not_by_subplans_of_their_own(
    store: psycopg.Connection, pg_database_url: str, tmp_path: Path,
) -> None:
    fields = "  - object: contact\n    fields:\n      - keyword: email\n        required: true\n" + PROFILE_HAS_ONE
    plan = explained(store, pg_database_url, tmp_path / "users.schema.yml", fields)
    assert sum("SubPlan" in line for line in plan) == 1  # the belongs_to's lookup, and nothing else


def test_a_limited_array_beside_a_count_of_the_same_rows_keeps_its_limit(
    store: psycopg.Connection, builder: Builder,
) -> None:
    b = builder(users=users_schema(HAS_MANY_ORDERS.format(extra="    limit: 1\n") + ORDER_COUNT))
    document = body(b, "users", "1")
    assert (document["orders"], document["orderCount"]) == ([{"id": 10}], 3)


def test_a_filtered_array_beside_a_count_of_all_the_rows_reads_only_its_own(
    store: psycopg.Connection, builder: Builder,
) -> None:
    extra = "    filters:\n      - {column: status, op: eq, value: fulfilled}\n"
    b = builder(users=users_schema(HAS_MANY_ORDERS.format(extra=extra) + ORDER_COUNT))
    document = body(b, "users", "1")
    assert (document["orders"], document["orderCount"]) == ([{"id": 10}, {"id": 12}], 3)


def test_an_array_after_a_count_of_the_same_rows_nests_its_own_relations(
    store: psycopg.Connection, builder: Builder,
) -> None:
    b = builder(users=users_schema(
        ORDER_COUNT + HAS_MANY_ORDERS.format(extra="") +
        "      - has_many: items\n        table: order_items\n        foreign_key: order_id\n        primary_key: id\n"
        "        order_by:\n          - {column: sku}\n"
        "        fields:\n          - keyword: sku\n            required: true\n"
    ))
    assert body(b, "users", "1") == {"orderCount": 3, "orders": [
        {"id": 10, "items": []}, {"id": 11, "items": [{"sku": "sku-c"}]},
        {"id": 12, "items": [{"sku": "sku-a"}, {"sku": "sku-b"}]},
    ]}


def test_a_many_to_many_array_and_a_count_through_the_same_junction(
    store: psycopg.Connection, builder: Builder,
) -> None:
    through = "    through: {table: user_tags, left_key: user_id, right_key: tag_id}\n"
    b = builder(users=users_schema(
        "  - many_to_many: tags\n    table: tags\n    primary_key: id\n" + through +
        "    order_by:\n      - {column: label}\n    fields:\n      - keyword: label\n        required: true\n"
        "  - count: tagCount\n    table: tags\n" + through
    ))
    assert body(b, "users", "1") == {"tags": [{"label": "blue"}, {"label": "green"}, {"label": "red"}], "tagCount": 3}
    assert body(b, "users", "3") == {"tags": [], "tagCount": 0}


def test_aggregates_in_a_nested_row_reduce_that_rows_related_rows(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        HAS_MANY_ORDERS.format(extra="") +
        "      - count: itemCount\n        table: order_items\n        foreign_key: order_id\n"
        "      - sum: units\n        table: order_items\n        column: qty\n        value_type: integer\n"
        "        foreign_key: order_id\n"
    ))
    assert body(b, "users", "1")["orders"] == [
        {"id": 10, "itemCount": 0, "units": None}, {"id": 11, "itemCount": 1, "units": 3},
        {"id": 12, "itemCount": 2, "units": 3},
    ]


def test_count_through_a_junction(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - count: tagCount\n    table: tags\n    through: {table: user_tags, left_key: user_id, right_key: tag_id}\n"
    ))
    assert body(b, "users", "1")["tagCount"] == 3


def test_ids_collects_the_related_keys(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema("  - ids: orderIds\n    table: orders\n    element_type: integer\n    foreign_key: user_id\n"))
    assert body(b, "users", "1")["orderIds"] == [10, 11, 12]
    assert body(b, "users", "3")["orderIds"] == []


def test_ids_through_a_junction_apply_the_filters(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - ids: tagIds\n    table: tags\n    element_type: integer\n"
        "    through: {table: user_tags, left_key: user_id, right_key: tag_id}\n"
        "    filters:\n      - {column: label, op: neq, value: green}\n"
    ))
    assert body(b, "users", "1")["tagIds"] == [1, 3]


def test_more_than_fifty_fields_are_all_assembled(store: psycopg.Connection, builder: Builder) -> None:
    fields = "".join(f"  - keyword: f{i}\n    column: email\n    required: true\n" for i in range(120))
    b = builder(users=users_schema(fields))
    assert body(b, "users", "2") == {f"f{i}": "bob@x.io" for i in range(120)}


def test_more_fields_than_a_row_holds_are_all_assembled(store: psycopg.Connection, builder: Builder) -> None:
    fields = "".join(f"  - keyword: f{i}\n    column: email\n    required: true\n" for i in range(1700))
    b = builder(users=users_schema(fields))
    assert body(b, "users", "2") == {f"f{i}": "bob@x.io" for i in range(1700)}


def test_a_self_reference_embeds_a_row_of_the_same_table(store: psycopg.Connection, builder: Builder) -> None:
    b = builder(users=users_schema(
        "  - belongs_to: manager\n    table: users\n    column: manager_id\n    primary_key: id\n"
        "    fields:\n      - integer: id\n        required: true\n"
        "  - has_many: reports\n    table: users\n    foreign_key: manager_id\n    primary_key: id\n"
        "    fields:\n      - integer: id\n        required: true\n"
    ))
    assert body(b, "users", "2") == {"manager": {"id": 1}, "reports": [{"id": 4}]}
