"""The content hash: a short structural fingerprint of a parsed index schema.

It names the physical index, so it must change exactly when the document's shape changes.
Hashing the *parsed* schema (defaults filled, keys in model order, options sorted) rather than
the file's bytes means comments, formatting, key order and spelled-out defaults keep it, while
any change to fields, types, options, filters, soft delete or field order moves it.
"""

from __future__ import annotations

import orjson

from flusso_engine.schema.index_yaml import IndexSchema

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def content_hash(schema: IndexSchema) -> str:
    """8 lowercase hex digits: 32-bit FNV-1a over the schema's canonical JSON."""
    canonical = orjson.dumps(schema.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)
    value = _FNV_OFFSET
    for byte in canonical:
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return f"{value:08x}"
