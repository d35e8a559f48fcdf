"""Invalid configs: every message names the file and the key, says what is wrong and how to fix it."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from flusso_engine.errors import ConfigError
from flusso_engine.schema import InvalidConfig, load_config

SOURCE = '[source]\ntype = "postgres"\nconnection_url = "postgres://u@h/db"\n'
INDEX = '[[index]]\nname = "items"\nschema = "items.schema.yml"\nenabled = true\n'
HEAD = "version: 1\ntable: items\nprimary_key: id\n"
ID_FIELD = "  - integer: id\n    required: true\n"


@dataclass(frozen=True)
class Case:
    """One broken input: the config text, the schema's fields (or whole text), and what the error says."""

    file: str
    key: str
    says: str
    toml: str = SOURCE + INDEX
    fields: str = ""
    schema: str | None = None
    environ: tuple[tuple[str, str], ...] = ()


def toml(body: str) -> str:
    return textwrap.dedent(body)


CASES = {
    # flusso.toml
    "toml syntax": Case("flusso.toml", "", "invalid TOML", toml="[source\n"),
    "missing source": Case("flusso.toml", "source", "missing required key `source`", toml=INDEX),
    "unknown top key": Case("flusso.toml", "prefx", "did you mean `prefix`", toml='prefx = "a_"\n' + SOURCE),
    "source type": Case("flusso.toml", "source.type", "use one of 'postgres'",
                        toml='[source]\ntype = "mysql"\nconnection_url = "postgres://u@h/db"\n'),
    "source without type": Case("flusso.toml", "source.type", 'add `type = "postgres"`',
                                toml='[source]\nconnection_url = "postgres://u@h/db"\n'),
    "url not postgres": Case("flusso.toml", "source.connection_url", "postgresql://",
                             toml='[source]\ntype = "postgres"\nconnection_url = "mysql://x"\n'),
    "connection url wrong type": Case("flusso.toml", "source.connection_url", "table of parts",
                                      toml='[source]\ntype = "postgres"\nconnection_url = 5\n'),
    "parts without database": Case("flusso.toml", "source.connection_url.database", "add `database`",
                                   toml='[source]\ntype = "postgres"\n[source.connection_url]\nhost = "h"\n'),
    "parts port out of range": Case("flusso.toml", "source.connection_url.port", "<= 65535",
                                    toml='[source]\ntype = "postgres"\n[source.connection_url]\nport = 70000\ndatabase = "d"\n'),
    "parts unknown key": Case("flusso.toml", "source.connection_url.hots", "did you mean `host`",
                              toml='[source]\ntype = "postgres"\n[source.connection_url]\nhots = "h"\ndatabase = "d"\n'),
    "no connection at all": Case("flusso.toml", "source.connection_url", "export DATABASE_URL",
                                 toml='[source]\ntype = "postgres"\n'),
    "env var unset": Case("flusso.toml", "source.connection_url", "export PG_URL",
                          toml='[source]\ntype = "postgres"\nconnection_url = { env = "PG_URL" }\n'),
    "env ref unknown key": Case("flusso.toml", "source.connection_url.name", "unknown key `name`",
                                toml='[source]\ntype = "postgres"\nconnection_url = { name = "X", env = "Y" }\n'),
    "database url env not postgres": Case("flusso.toml", "source.connection_url", "postgresql://",
                                          toml='[source]\ntype = "postgres"\n', environ=(("DATABASE_URL", "http://x"),)),
    "manage_publication not bool": Case(
        "flusso.toml", "source.manage_publication", "true or false",
        toml='[source]\ntype = "postgres"\nconnection_url = "postgres://u@h/db"\nmanage_publication = "yes"\n'),
    "sink without type": Case("flusso.toml", "sinks.main", "type", toml=SOURCE + '[sinks.main]\nurl = "http://x"\n'),
    "sink unknown type": Case("flusso.toml", "sinks.main", "opensearch", toml=SOURCE + '[sinks.main]\ntype = "kafka"\n'),
    "sink unknown key": Case("flusso.toml", "sinks.main.batchsize", "did you mean `batch_size`",
                             toml=SOURCE + '[sinks.main]\ntype = "opensearch"\nurl = "http://x"\nbatchsize = 5\n'),
    "sink batch size zero": Case("flusso.toml", "sinks.main.batch_size", ">= 1",
                                 toml=SOURCE + '[sinks.main]\ntype = "opensearch"\nurl = "http://x"\nbatch_size = 0\n'),
    "sink text analysis": Case("flusso.toml", "sinks.main.text_analysis", "'builtin' or 'icu'",
                               toml=SOURCE + '[sinks.main]\ntype = "opensearch"\nurl = "http://x"\ntext_analysis = "ascii"\n'),
    "sink url not http": Case("flusso.toml", "sinks.main.url", "https://host:9200",
                              toml=SOURCE + '[sinks.main]\ntype = "opensearch"\nurl = "x:9200"\n'),
    "sink without url": Case("flusso.toml", "sinks.main.url", "MAIN_OPENSEARCH_URL",
                             toml=SOURCE + '[sinks.main]\ntype = "opensearch"\n'),
    "sink name not identifier": Case("flusso.toml", "sinks.main-search", "not a valid Postgres identifier",
                                     toml=SOURCE + '[sinks.main-search]\ntype = "stdout"\n'),
    "stdout pretty not bool": Case("flusso.toml", "sinks.out.pretty", "true or false",
                                   toml=SOURCE + '[sinks.out]\ntype = "stdout"\npretty = 1\n'),
    "global on_error": Case("flusso.toml", "on_error", "did you mean `skip`", toml='on_error = "skp"\n' + SOURCE),
    "index without enabled": Case("flusso.toml", "index[0].enabled", "add `enabled = true`",
                                  toml=SOURCE + '[[index]]\nname = "items"\nschema = "items.schema.yml"\n'),
    "index without schema": Case("flusso.toml", "index[0].schema", "add `schema =",
                                 toml=SOURCE + '[[index]]\nname = "items"\nenabled = true\n'),
    "index bad name": Case("flusso.toml", "index[0].name", "not a valid Postgres identifier",
                           toml=SOURCE + '[[index]]\nname = "1items"\nschema = "items.schema.yml"\nenabled = true\n'),
    "index on_error": Case("flusso.toml", "index[0].on_error", "'stop' or 'skip'", toml=SOURCE + INDEX + 'on_error = "ignore"\n'),
    "duplicate index": Case("flusso.toml", "index[1].name", "different name", toml=SOURCE + INDEX + INDEX),
    "schema file missing": Case("flusso.toml", "index.items.schema", "relative to flusso.toml",
                                toml=SOURCE + '[[index]]\nname = "items"\nschema = "nope.schema.yml"\nenabled = true\n'),
    "bad prefix": Case("flusso.toml", "prefix", "lowercase", toml='prefix = "Dev*"\n' + SOURCE),
    "bad server address": Case("flusso.toml", "server.public_address", "127.0.0.1:9464",
                               toml=SOURCE + '[server]\npublic_address = "localhost"\n'),
    # *.schema.yml
    "yaml syntax": Case("items.schema.yml", "", "invalid YAML", schema="version: 1\nfields: [\n"),
    "duplicate yaml key": Case("items.schema.yml", "table", "keep one of them", schema=HEAD + "table: again\nfields: []\n"),
    "unsupported version": Case("items.schema.yml", "version", "set `version: 1`", schema="version: 2\ntable: t\nfields: []\n"),
    "missing fields": Case("items.schema.yml", "fields", "add `fields`", schema=HEAD),
    "unknown root key": Case("items.schema.yml", "primary_kye", "did you mean `primary_key`",
                             schema="version: 1\ntable: items\nprimary_kye: id\nfields: []\n"),
    "doc_id": Case("items.schema.yml", "", "remove `doc_id`", schema=HEAD + "doc_id: id\nfields: []\n"),
    "bad table identifier": Case("items.schema.yml", "table", "not a valid Postgres identifier",
                                 schema="version: 1\ntable: 'my table'\nfields: []\n"),
    "missing required": Case("items.schema.yml", "fields[1].required", "`required: true`", fields="  - keyword: sku\n"),
    "required not bool": Case("items.schema.yml", "fields[1].required", "true or false",
                              fields="  - keyword: sku\n    required: 'yes'\n"),
    "unknown sibling": Case("items.schema.yml", "fields[1].colum", "did you mean `column`",
                            fields="  - keyword: sku\n    required: true\n    colum: x\n"),
    "bad field name": Case("items.schema.yml", "fields[1].keyword", "not a valid field name",
                           fields="  - keyword: 'sku-code'\n    required: true\n"),
    "two type keys": Case("items.schema.yml", "fields[1]", "exactly one type key",
                          fields="  - keyword: a\n    text: b\n    required: true\n"),
    "no type key": Case("items.schema.yml", "fields[1]", "did you mean `keyword`", fields="  - keywrd: a\n    required: true\n"),
    "field not a mapping": Case("items.schema.yml", "fields[1]", "must be a mapping", fields="  - sku\n"),
    "bad transform": Case("items.schema.yml", "fields[1].transforms[0]", "'lowercase' or 'trim'",
                          fields="  - keyword: sku\n    required: true\n    transforms: [upper]\n"),
    "non-scalar default": Case("items.schema.yml", "fields[1].default", "must be a scalar",
                               fields="  - keyword: sku\n    required: true\n    default: [a]\n"),
    "duplicate variant": Case("items.schema.yml", "fields[1]", "list each variant once",
                              fields="  - enum: s\n    required: true\n    variants: [a, a]\n"),
    "arrow in variant": Case("items.schema.yml", "fields[1]", "without `=>`",
                             fields="  - enum: s\n    required: true\n    variants: ['a => b']\n"),
    "custom transforms": Case("items.schema.yml", "fields[1].transforms", "takes no transforms",
                              fields="  - custom: c\n    postgres: [numeric]\n    opensearch: scaled_float\n    required: true\n    transforms: [trim]\n"),
    "custom without opensearch": Case("items.schema.yml", "fields[1].opensearch", "add `opensearch:",
                                      fields="  - custom: c\n    postgres: [numeric]\n    required: true\n"),
    "geo lat only": Case("items.schema.yml", "fields[1]", "both coordinate columns",
                         fields="  - geo: p\n    lat: la\n    required: true\n"),
    "geo mixed": Case("items.schema.yml", "fields[1]", "remove `column` or `lat`/`lon`",
                      fields="  - geo: p\n    lat: la\n    lon: lo\n    column: c\n    required: true\n"),
    "map boolean values": Case("items.schema.yml", "fields[1]", "use one of: text",
                               fields="  - map: m\n    values: boolean\n    required: true\n"),
    "map without values": Case("items.schema.yml", "fields[1].values", "add `values:",
                               fields="  - map: m\n    required: true\n"),
    "object required": Case("items.schema.yml", "fields[1].required", "never null",
                            fields="  - object: o\n    required: true\n    fields: []\n"),
    "belongs_to foreign_key": Case("items.schema.yml", "fields[1].foreign_key", "use `has_one` or `has_many`",
                                   fields="  - belongs_to: b\n    table: t\n    primary_key: id\n    foreign_key: f\n    fields: []\n"),
    "belongs_to order_by": Case("items.schema.yml", "fields[1].order_by", "target is unique",
                                fields="  - belongs_to: b\n    table: t\n    primary_key: id\n    order_by: [{column: id}]\n    fields: []\n"),
    "has_one limit": Case("items.schema.yml", "fields[1].limit", "remove `limit`",
                          fields="  - has_one: h\n    table: t\n    primary_key: id\n    foreign_key: f\n    limit: 1\n    fields: []\n"),
    "has_many missing foreign_key": Case("items.schema.yml", "fields[1].foreign_key", "pointing back here",
                                         fields="  - has_many: h\n    table: t\n    primary_key: id\n    fields: []\n"),
    "has_many required": Case("items.schema.yml", "fields[1].required", "non-null array",
                              fields="  - has_many: h\n    table: t\n    primary_key: id\n    foreign_key: f\n    required: true\n    fields: []\n"),
    "has_many limit zero": Case("items.schema.yml", "fields[1].limit", ">= 1",
                                fields="  - has_many: h\n    table: t\n    primary_key: id\n    foreign_key: f\n    limit: 0\n    fields: []\n"),
    "many_to_many without through": Case("items.schema.yml", "fields[1].through", "left_key",
                                         fields="  - many_to_many: m\n    table: t\n    primary_key: id\n    fields: []\n"),
    "through missing right_key": Case("items.schema.yml", "fields[1].through.right_key", "add `right_key`",
                                      fields="  - many_to_many: m\n    table: t\n    primary_key: id\n    through: {table: j, left_key: a}\n    fields: []\n"),
    "order_by direction": Case("items.schema.yml", "fields[1].order_by[0].direction", "'asc' or 'desc'",
                               fields="  - has_many: h\n    table: t\n    primary_key: id\n    foreign_key: f\n    order_by: [{column: id, direction: up}]\n    fields: []\n"),
    "aggregate both keys": Case("items.schema.yml", "fields[1]", "not both",
                                fields="  - count: c\n    table: t\n    foreign_key: f\n    through: {table: j, left_key: a, right_key: b}\n"),
    "count column": Case("items.schema.yml", "fields[1].column", "counts rows",
                         fields="  - count: c\n    table: t\n    foreign_key: f\n    column: x\n"),
    "sum without value_type": Case("items.schema.yml", "fields[1].value_type", "add `value_type:",
                                   fields="  - sum: s\n    table: t\n    column: x\n    foreign_key: f\n"),
    "sum unknown value_type": Case("items.schema.yml", "fields[1].value_type", "did you mean `decimal`",
                                   fields="  - sum: s\n    table: t\n    column: x\n    value_type: decimel\n    foreign_key: f\n"),
    "avg without column": Case("items.schema.yml", "fields[1].column", "add `column`",
                               fields="  - avg: a\n    table: t\n    foreign_key: f\n"),
    "ids column": Case("items.schema.yml", "fields[1].column", "collects the related table's primary key",
                       fields="  - ids: i\n    table: t\n    foreign_key: f\n    element_type: long\n    column: x\n"),
    "ids boolean element": Case("items.schema.yml", "fields[1]", "use one of: short",
                                fields="  - ids: i\n    table: t\n    foreign_key: f\n    element_type: boolean\n"),
    "element_type on max": Case("items.schema.yml", "fields[1].element_type", "applies to `ids` only",
                                fields="  - max: m\n    table: t\n    column: x\n    value_type: long\n    element_type: long\n    foreign_key: f\n"),
    "aggregate required": Case("items.schema.yml", "fields[1].required", "nullability is fixed",
                               fields="  - count: c\n    table: t\n    foreign_key: f\n    required: true\n"),
    "between arity": Case("items.schema.yml", "filters[0]", "[lower, upper]", schema=HEAD + "filters:\n  - {column: q, op: between, value: [1]}\nfields: []\n"),
    "in with scalar": Case("items.schema.yml", "filters[0]", "value: [a, b, ...]", schema=HEAD + "filters:\n  - {column: q, op: in, value: 1}\nfields: []\n"),
    "eq with list": Case("items.schema.yml", "filters[0]", "use `in` for a list", schema=HEAD + "filters:\n  - {column: q, op: eq, value: [1]}\nfields: []\n"),
    "missing filter value": Case("items.schema.yml", "filters[0]", "add `value:`", schema=HEAD + "filters:\n  - {column: q, op: gt}\nfields: []\n"),
    "unknown filter op": Case("items.schema.yml", "filters[0].op", "did you mean `lt`", schema=HEAD + "filters:\n  - {column: q, op: lt3, value: 1}\nfields: []\n"),
    "empty raw filter": Case("items.schema.yml", "filters[0].raw", "raw", schema=HEAD + "filters:\n  - {raw: ''}\nfields: []\n"),
    "soft_delete both": Case("items.schema.yml", "soft_delete", "exactly one of `column` or `field`",
                             schema=HEAD + "soft_delete: {column: a, field: b}\nfields: []\n"),
    "soft_delete unknown field": Case("items.schema.yml", "", "use `column:`", schema=HEAD + "soft_delete: {field: gone}\nfields:\n" + ID_FIELD),
    "relation without primary key": Case("items.schema.yml", "", "add `primary_key:",
                                         schema="version: 1\ntable: items\nfields:\n  - count: c\n    table: t\n    foreign_key: f\n"),
    "duplicate field name": Case("items.schema.yml", "", "rename one of the two", fields="  - keyword: id\n    required: true\n"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_invalid_input_names_file_key_and_fix(case: Case, tmp_path: Path):
    (tmp_path / "flusso.toml").write_text(case.toml)
    schema = case.schema if case.schema is not None else HEAD + "fields:\n" + ID_FIELD + case.fields
    (tmp_path / "items.schema.yml").write_text(schema)
    with pytest.raises(InvalidConfig) as caught:
        load_config(tmp_path / "flusso.toml", environ=dict(case.environ))
    message = str(caught.value)
    assert case.file in message
    assert f": {case.key}:" in message if case.key else True
    assert "Fix:" in message
    assert case.says in message, message


def test_invalid_config_is_a_config_error():
    assert issubclass(InvalidConfig, ConfigError)


def test_yaml_problems_carry_the_line_of_the_key(tmp_path: Path):
    (tmp_path / "flusso.toml").write_text(SOURCE + INDEX)
    (tmp_path / "items.schema.yml").write_text(HEAD + "fields:\n" + ID_FIELD + "  - keyword: sku\n    required: true\n    colum: x\n")
    with pytest.raises(InvalidConfig) as caught:
        load_config(tmp_path / "flusso.toml", environ={})
    assert caught.value.problems[0].line == 9


def test_problems_of_every_schema_are_reported_together(tmp_path: Path):
    second = INDEX.replace('"items"', '"other"').replace("items.schema", "other.schema")
    (tmp_path / "flusso.toml").write_text(SOURCE + INDEX + second)
    (tmp_path / "items.schema.yml").write_text("version: 2\ntable: t\nfields: []\n")
    (tmp_path / "other.schema.yml").write_text("version: 3\ntable: t\nfields: []\n")
    with pytest.raises(InvalidConfig) as caught:
        load_config(tmp_path / "flusso.toml", environ={})
    assert {p.file.name for p in caught.value.problems} == {"items.schema.yml", "other.schema.yml"}
