"""Tables and columns the index reads, held against the live catalog."""

from __future__ import annotations

from flusso_engine.preflight import Diagnostic, check_online
from tests.schema_online.conftest import ITEM_FIELDS, MakeConfig


def online(config) -> list[Diagnostic]:
    return check_online(config, slot="flusso", publication="flusso")


def errors(config) -> list[Diagnostic]:
    return [d for d in online(config) if d.is_error]


def test_a_matching_schema_has_no_errors(shop_url: str, make_config: MakeConfig) -> None:
    assert errors(make_config(shop_url)) == []


def test_names_a_missing_column_by_index_and_field(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS.replace("- text: title", "- text: headline")
    [found] = errors(make_config(shop_url, fields))
    assert (found.index, found.path) == ("items", "headline")
    assert "column public.items.headline does not exist" in found.message


def test_names_a_missing_column_inside_a_join(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS.replace("- integer: stars", "- integer: rating")
    [found] = errors(make_config(shop_url, fields))
    assert (found.index, found.path) == ("items", "reviews.rating")


def test_names_a_missing_join_key(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS.replace("foreign_key: item_id", "foreign_key: product_id")
    [found] = errors(make_config(shop_url, fields))
    assert found.path == "reviews (foreign_key)"
    assert "public.reviews.product_id" in found.message


def test_names_a_missing_table_once(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS.replace("table: reviews", "table: opinions")
    [found] = errors(make_config(shop_url, fields))
    assert (found.index, found.path) == ("items", "reviews")
    assert "table public.opinions does not exist" in found.message


def test_names_a_missing_root_table(shop_url: str, make_config: MakeConfig) -> None:
    [found] = errors(make_config(shop_url, table="goods"))
    assert (found.path, found.message.startswith("table public.goods does not exist")) == ("table", True)


def test_rejects_a_column_of_the_wrong_type_with_the_types_that_fit(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS.replace("- integer: stars", "- uuid: stars")
    [found] = errors(make_config(shop_url, fields))
    assert found.path == "reviews.stars"
    assert "is integer; the field needs `uuid`" in found.message
    assert "integer" in found.fix


def test_accepts_a_postgres_enum_column_for_enum_and_keyword(shop_url: str, make_config: MakeConfig) -> None:
    assert errors(make_config(shop_url, ITEM_FIELDS)) == []
    assert errors(make_config(shop_url, ITEM_FIELDS.replace("- enum: state", "- keyword: state"))) == []


def test_rejects_a_postgres_enum_column_for_a_number(shop_url: str, make_config: MakeConfig) -> None:
    [found] = errors(make_config(shop_url, ITEM_FIELDS.replace("- enum: state", "- long: state")))
    assert "is item_state" in found.message


def test_accepts_a_custom_field_by_its_listed_type_names(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS + "  - custom: rank\n    column: id\n    postgres: [bigint]\n    opensearch: long\n    required: true\n"
    assert errors(make_config(shop_url, fields)) == []


def test_accepts_a_sum_declared_as_the_widened_type(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS + "  - sum: totalStars\n    table: reviews\n    column: stars\n    value_type: long\n    foreign_key: item_id\n"
    assert errors(make_config(shop_url, fields)) == []


def test_warns_when_a_required_field_reads_a_nullable_column(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS + "  - text: note\n    required: true\n"
    [found] = [d for d in online(make_config(shop_url, fields)) if d.path == "note"]
    assert found.severity == "warning"
    assert 'ALTER TABLE "public"."items" ALTER COLUMN "note" SET NOT NULL;' in found.fix


def test_a_required_field_with_a_default_reads_a_nullable_column_silently(shop_url: str, make_config: MakeConfig) -> None:
    fields = ITEM_FIELDS + "  - text: note\n    required: true\n    default: none\n"
    assert [d for d in online(make_config(shop_url, fields)) if d.path == "note"] == []
