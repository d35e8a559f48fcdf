"""The content hash moves with the document's structure and with nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from flusso_engine.schema import content_hash, parse_index_schema

BASE = """\
version: 1
table: users
primary_key: id
fields:
  - integer: id
    required: true
  - keyword: email
    required: true
    options: { ignore_above: 100, index: true }
  - has_many: orders
    table: orders
    foreign_key: user_id
    primary_key: id
    filters:
      - { column: status, op: eq, value: paid }
    fields:
      - decimal: total
        required: true
"""

REFORMATTED = """\
# the same document, written differently
table:   users        # key order, comments and spacing changed
version: 1
schema: public        # the default, spelled out
primary_key: id
fields:
  - {integer: id, required: true}
  - required: true
    column: email     # the default column, spelled out
    keyword: email
    transforms: []
    options:
      index: true
      ignore_above: 100
  - has_many: orders
    primary_key: id
    foreign_key: user_id
    table: orders
    filters: [{op: eq, column: status, value: paid}]
    order_by: []
    fields:
      - decimal: total
        required: true
"""


def _hash(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.schema.yml"
    path.write_text(text)
    return content_hash(parse_index_schema(path))


def test_hash_is_eight_lowercase_hex_digits(tmp_path):
    value = _hash(tmp_path, BASE)
    assert len(value) == 8 and value == value.lower() and int(value, 16) >= 0


def test_hash_is_stable_across_loads(tmp_path):
    assert _hash(tmp_path, BASE) == _hash(tmp_path, BASE)


def test_formatting_comments_key_order_and_spelled_out_defaults_keep_the_hash(tmp_path):
    assert _hash(tmp_path, REFORMATTED) == _hash(tmp_path, BASE)


@pytest.mark.parametrize(
    ("edit", "old", "new"),
    [
        ("field type", "  - keyword: email", "  - text: email"),
        ("field name", "keyword: email", "keyword: mail\n    column: email"),
        ("nullability", "    required: true\n    options", "    required: false\n    options"),
        ("options", "ignore_above: 100", "ignore_above: 101"),
        ("filter value", "value: paid", "value: shipped"),
        ("filter op", "op: eq", "op: neq"),
        ("column", "  - decimal: total\n        required: true", "  - decimal: total\n        column: amount\n        required: true"),
        ("added field", "fields:\n  - integer: id", "fields:\n  - boolean: active\n    required: true\n  - integer: id"),
        ("soft delete", "primary_key: id\nfields:", "primary_key: id\nsoft_delete: {column: deleted}\nfields:"),
        ("root filter", "primary_key: id\nfields:", "primary_key: id\nfilters: [{column: a, op: is_null}]\nfields:"),
        ("database schema", "table: users", "table: users\nschema: crm"),
    ],
)
def test_structural_edits_change_the_hash(tmp_path, edit, old, new):
    assert old in BASE, edit
    assert _hash(tmp_path, BASE.replace(old, new, 1)) != _hash(tmp_path, BASE)


def test_reordering_fields_changes_the_hash(tmp_path):
    swapped = BASE.replace(
        "  - integer: id\n    required: true\n  - keyword: email\n    required: true\n",
        "  - keyword: email\n    required: true\n  - integer: id\n    required: true\n",
    )
    assert "  - keyword: email\n    required: true\n  - integer" in swapped
    assert _hash(tmp_path, swapped) != _hash(tmp_path, BASE)


def test_index_on_error_is_not_part_of_the_hash(tmp_path):
    (tmp_path / "s.schema.yml").write_text(BASE)
    from flusso_engine.schema import load_config

    def loaded(policy: str) -> str:
        (tmp_path / "flusso.toml").write_text(
            f'[source]\ntype = "postgres"\nconnection_url = "postgres://u@h/db"\n'
            f'[[index]]\nname = "users"\nschema = "s.schema.yml"\nenabled = true\non_error = "{policy}"\n'
        )
        return load_config(tmp_path / "flusso.toml", environ={}).indexes[0].content_hash

    assert loaded("stop") == loaded("skip")
