"""The valid fixture library: every feature of both formats loads and maps as specified."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from flusso_engine.model import TableRef
from flusso_engine.schema import MappingOptions, build_mapping, load_config, parse_index_schema
from flusso_engine.schema.config import OpenSearchSink, StdoutSink
from flusso_engine.schema.filters import ValueFilter

from conftest import VALID

KEYWORD_SUBFIELDS = {
    "text": {"type": "text", "analyzer": "flusso_code"},
    "keyword_lowercase": {"type": "keyword", "normalizer": "flusso_lowercase", "ignore_above": 256},
}


def test_loads_every_index_of_the_fixture_config(fixture_config):
    assert [i.name for i in fixture_config.indexes] == ["users", "orders", "products", "line_items"]


def test_schema_paths_resolve_relative_to_the_config_file(fixture_config):
    assert fixture_config.indexes[2].schema_path == VALID / "schemas" / "products.schema.yml"


def test_connection_parts_become_one_url_with_the_password_quoted(fixture_config):
    url = fixture_config.source.url.get_secret_value()
    assert url == "postgresql://flusso:pg%20s3cret%2F%40@db.internal:6432/store"
    assert fixture_config.source.manage_publication is False


def test_opensearch_sink_keeps_every_setting(fixture_config):
    sink = fixture_config.sinks["primary"]
    assert isinstance(sink, OpenSearchSink)
    assert sink.password.get_secret_value() == "os-s3cret"
    assert (sink.batch_size, sink.max_bytes, sink.timeout_secs, sink.max_retries) == (2000, 5242880, 60, 5)
    assert (sink.pipeline, sink.number_of_shards, sink.number_of_replicas) == ("enrich", 2, 0)
    assert (sink.refresh_interval, sink.text_analysis, sink.auto_subfields, sink.tls_verify) == ("1s", "icu", True, False)


def test_stdout_sink_keeps_pretty(fixture_config):
    assert fixture_config.sinks["audit"] == StdoutSink(name="audit", pretty=True)


def test_index_on_error_overrides_the_global_policy(fixture_config):
    assert [i.on_error for i in fixture_config.indexes] == ["stop", "skip", "stop", "stop"]


def test_disabled_index_is_loaded_but_not_enabled(fixture_config):
    assert [i.name for i in fixture_config.enabled_indexes()] == ["users", "orders", "products"]


def test_prefix_and_server_addresses_are_read(fixture_config):
    assert fixture_config.prefix == "test_"
    assert fixture_config.server.public_address == "0.0.0.0:9464"


def test_secrets_never_appear_in_repr_or_str(fixture_config):
    text = repr(fixture_config) + str(fixture_config)
    assert "os-s3cret" not in text and "s3cret" not in text


def test_index_spec_carries_root_mapping_and_hash(fixture_config):
    products = fixture_config.indexes[2]
    spec = products.spec()
    assert spec.root == TableRef("catalog", "products")
    assert spec.mapping is products.mapping and len(spec.content_hash) == 8


def test_root_mapping_is_strict(fixture_config):
    assert all(i.mapping["mappings"]["dynamic"] == "strict" for i in fixture_config.indexes)


def test_text_gets_the_text_analyzer_and_keyword_subfields(properties):
    bio = properties["users"]["bio"]
    assert bio["analyzer"] == "flusso_text"
    assert set(bio["fields"]) == {"keyword", "keyword_lowercase"}


def test_identifier_is_text_analyzed_as_code(properties):
    assert properties["users"]["handle"]["type"] == "text"
    assert properties["users"]["handle"]["analyzer"] == "flusso_code"


def test_keyword_gets_text_and_lowercase_subfields(properties):
    assert properties["users"]["email"] == {"type": "keyword", "fields": KEYWORD_SUBFIELDS}


def test_ordered_enum_gets_a_rank_sort_subfield(fixture_config, properties):
    status = properties["orders"]["status"]
    assert status["fields"]["sort"]["normalizer"] == "flusso_enumsort__status"
    analysis = fixture_config.indexes[1].mapping["settings"]["analysis"]
    assert analysis["char_filter"]["flusso_enumsort__status"]["mappings"][:2] == ["pending => 0", "paid => 1"]


def test_enum_sort_ranks_are_zero_padded_to_a_common_width(tmp_path):
    variants = ", ".join(f"v{i}" for i in range(11))
    schema = _schema_with(f"  - enum: size\n    required: true\n    variants: [{variants}]\n", tmp_path)
    rules = build_mapping(schema)["settings"]["analysis"]["char_filter"]["flusso_enumsort__size"]["mappings"]
    assert rules[0] == "v0 => 00" and rules[10] == "v10 => 10"


def test_enum_without_variants_is_a_plain_keyword(properties):
    assert "sort" not in properties["products"]["kind"]["fields"]


def test_options_win_over_generated_properties(properties):
    assert properties["products"]["sku"]["ignore_above"] == 64
    assert properties["products"]["description"]["analyzer"] == "english"
    assert properties["products"]["description"]["fields"] == {"raw": {"type": "keyword"}}


def test_every_scalar_type_maps_to_its_opensearch_type(properties):
    products, users = properties["products"], properties["users"]
    assert {k: products[k]["type"] for k in ("id", "createdAt", "releasedOn", "rank", "weight", "score", "thumbnail")} == {
        "id": "long", "createdAt": "date", "releasedOn": "date", "rank": "short", "weight": "float",
        "score": "double", "thumbnail": "binary",
    }
    assert (users["externalId"]["type"], users["active"]["type"], users["id"]["type"]) == ("keyword", "boolean", "integer")


def test_json_is_stored_unindexed_so_strict_mapping_accepts_any_keys(properties):
    assert properties["products"]["attributes"] == {"type": "object", "enabled": False}


def test_map_is_a_dynamic_object(properties):
    assert properties["products"]["title"] == {"type": "object", "dynamic": True}


def test_geo_maps_to_geo_point_in_both_forms(properties):
    assert properties["users"]["home"]["type"] == properties["products"]["warehouse"]["type"] == "geo_point"


def test_custom_uses_its_opensearch_type_and_options(properties):
    assert properties["products"]["pricing"]["properties"]["amount"] == {"type": "scaled_float", "scaling_factor": 100}


def test_constant_maps_from_its_value(properties):
    assert properties["users"]["source"]["type"] == "keyword"


def test_joins_map_to_objects_and_nested_arrays(properties):
    users = properties["users"]
    assert users["profile"]["type"] == "object"
    assert users["orders"]["type"] == users["tags"]["type"] == "nested"
    assert properties["orders"]["buyer"]["type"] == "object"
    assert properties["products"]["categories"]["include_in_parent"] is True


def test_joins_nest_to_any_depth(properties):
    product = properties["users"]["orders"]["properties"]["items"]["properties"]["product"]
    assert product["type"] == "object" and product["properties"]["sku"]["type"] == "keyword"


def test_aggregates_map_to_their_result_types(properties):
    users = properties["users"]
    types = {k: users[k]["type"] for k in ("orderCount", "lifetimeValue", "avgOrder", "firstOrderAt", "orderIds", "tagCount")}
    assert types == {"orderCount": "long", "lifetimeValue": "double", "avgOrder": "double",
                     "firstOrderAt": "date", "orderIds": "long", "tagCount": "long"}


def test_icu_text_analysis_swaps_tokenizer_and_folding(fixture_config):
    analysis = fixture_config.indexes[0].mapping["settings"]["analysis"]
    assert analysis["analyzer"]["flusso_text"]["tokenizer"] == "icu_tokenizer"
    assert analysis["analyzer"]["flusso_code"]["filter"][-1] == "icu_folding"


def test_auto_subfields_off_emits_bare_fields_but_keeps_type_analyzers():
    schema = parse_index_schema(VALID / "users.schema.yml")
    props = build_mapping(schema, MappingOptions(auto_subfields=False))["mappings"]["properties"]
    assert props["bio"] == {"type": "text"}
    assert props["handle"] == {"type": "text", "analyzer": "flusso_code"}


def test_column_defaults_to_the_lowercased_field_name(tmp_path):
    schema = _schema_with("  - keyword: displayName\n    required: true\n", tmp_path)
    assert schema.fields[1].column == "displayname"


def test_composite_primary_key_lists_its_columns(fixture_config):
    assert fixture_config.indexes[3].index_schema.key_columns == ("order_id", "line_no")


def test_soft_delete_by_field_resolves_to_its_column(fixture_config):
    assert fixture_config.indexes[3].index_schema.soft_delete_column == "is_void"
    assert fixture_config.indexes[0].index_schema.soft_delete_column == "deleted"


def test_filter_values_keep_their_yaml_types(fixture_config):
    between, since, not_in, _ = fixture_config.indexes[3].index_schema.filters
    assert isinstance(between, ValueFilter) and between.value == (1, 1000)
    assert since.value == dt.date(2024, 1, 1)
    assert not_in.value == ("test", "internal")


def test_tables_lists_every_table_the_document_reads(fixture_config):
    assert fixture_config.indexes[0].index_schema.tables() == {
        "users", "profiles", "orders", "order_items", "products", "tags", "user_tags",
    }


def test_database_url_overrides_a_literal_connection_url(tmp_path):
    config = load_config(_config(tmp_path, 'connection_url = "postgres://a@h/db"'), environ={"DATABASE_URL": "postgres://b@h/db"})
    assert config.source.url.get_secret_value() == "postgres://b@h/db"


def test_database_url_fills_an_omitted_connection_url(tmp_path):
    config = load_config(_config(tmp_path, ""), environ={"DATABASE_URL": "postgresql://b@h/db"})
    assert config.source.url.get_secret_value() == "postgresql://b@h/db"


def test_explicit_env_reference_beats_database_url(tmp_path):
    path = _config(tmp_path, 'connection_url = { env = "MY_PG" }')
    config = load_config(path, environ={"DATABASE_URL": "postgres://b@h/db", "MY_PG": "postgres://mine@h/db"})
    assert config.source.url.get_secret_value() == "postgres://mine@h/db"


def test_reserved_sink_variables_override_and_fill_credentials(tmp_path):
    path = _config(tmp_path, 'connection_url = "postgres://a@h/db"', '[sinks.search]\ntype = "opensearch"\nurl = "http://x:9200"\n')
    env = {"SEARCH_OPENSEARCH_URL": "https://y:9200", "SEARCH_OPENSEARCH_USERNAME": "u", "SEARCH_OPENSEARCH_PASSWORD": "p"}
    sink = load_config(path, environ=env).sinks["search"]
    assert (sink.url.get_secret_value(), sink.username.get_secret_value(), sink.password.get_secret_value()) == (
        "https://y:9200", "u", "p")


def test_a_config_without_sinks_or_indexes_loads(tmp_path):
    config = load_config(_config(tmp_path, 'connection_url = "postgres://a@h/db"'), environ={})
    assert config.sinks == {} and config.indexes == ()


def _config(tmp_path: Path, source_line: str, extra: str = "") -> Path:
    path = tmp_path / "flusso.toml"
    path.write_text(f'[source]\ntype = "postgres"\n{source_line}\n\n{extra}')
    return path


def _schema_with(fields: str, folder: Path):
    path = folder / "t.schema.yml"
    path.write_text("version: 1\ntable: t\nprimary_key: id\nfields:\n  - integer: id\n    required: true\n" + fields)
    return parse_index_schema(path)


@pytest.mark.parametrize("name", ["users.schema.yml", "orders.schema.yml", "schemas/products.schema.yml",
                                  "schemas/line_items.schema.yaml"])
def test_each_fixture_schema_parses_on_its_own(name):
    assert parse_index_schema(VALID / name).version == 1

