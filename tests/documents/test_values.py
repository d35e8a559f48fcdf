"""Values arrive in the forms OpenSearch reads, straight from the server's JSON text."""

from __future__ import annotations

import base64

import psycopg
import pytest

from tests.documents.store import Builder, body

VALUES = """
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE v (
    id int PRIMARY KEY, naive timestamp, zoned timestamptz, day date, price numeric(12, 3), ratio float8,
    raw bytea, attrs jsonb, doc json, feeling mood, flag boolean, big bigint, account uuid
);
INSERT INTO v VALUES (
    1, '2024-03-01 10:11:12.5', '2024-03-01 10:11:12+00', '2024-03-01', 1234.500, 0.25,
    decode(repeat('00ff', 60), 'hex'), '{"a": {"b": [1, 2]}}', '{"x": true}', 'happy', true,
    9000000000, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
);
"""

FIELDS = {
    "naive": "timestamp", "zoned": "timestamp", "day": "date", "price": "decimal", "ratio": "double",
    "raw": "binary", "attrs": "json", "doc": "json", "feeling": "enum", "flag": "boolean", "big": "long",
    "account": "uuid",
}


@pytest.fixture
def doc(pg: psycopg.Connection, builder: Builder) -> dict:
    pg.execute(VALUES)
    pg.execute("SET TIME ZONE 'UTC'")
    fields = "".join(f"  - {kind}: {name}\n    required: false\n" for name, kind in FIELDS.items())
    b = builder(v=f"version: 1\ntable: v\nprimary_key: id\nfields:\n{fields}")
    return body(b, "v", "1")


def test_naive_timestamps_are_iso_8601_with_a_t(doc: dict) -> None:
    assert doc["naive"] == "2024-03-01T10:11:12.5"


def test_zoned_timestamps_are_iso_8601_with_an_offset(doc: dict) -> None:
    assert doc["zoned"].startswith("2024-03-01T") and doc["zoned"][-6] in "+-"


def test_dates_are_iso_dates(doc: dict) -> None:
    assert doc["day"] == "2024-03-01"


def test_decimals_are_json_numbers(doc: dict) -> None:
    assert doc["price"] == 1234.5 and doc["ratio"] == 0.25 and doc["big"] == 9000000000


def test_bytea_is_base64_on_one_line(doc: dict) -> None:
    assert "\n" not in doc["raw"]
    assert base64.b64decode(doc["raw"]) == bytes.fromhex("00ff" * 60)


def test_json_and_jsonb_are_objects(doc: dict) -> None:
    assert doc["attrs"] == {"a": {"b": [1, 2]}} and doc["doc"] == {"x": True}


def test_enums_booleans_and_uuids_are_their_text_or_json_form(doc: dict) -> None:
    assert (doc["feeling"], doc["flag"], doc["account"]) == ("happy", True, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")


def test_the_body_is_the_servers_json_bytes(pg: psycopg.Connection, builder: Builder) -> None:
    pg.execute(VALUES)
    b = builder(v="version: 1\ntable: v\nprimary_key: id\nfields:\n  - decimal: price\n    required: true\n")
    [document] = b.build("v", [("1",)], version=1)
    assert document.body == b'{"price":1234.500}'
