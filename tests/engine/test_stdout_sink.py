"""The stdout sink's output: bulk-style NDJSON, bodies passed through untouched."""

from __future__ import annotations

import io

import orjson

from flusso_engine.model import DocId, Document
from flusso_engine.sinks.stdout import StdoutSink

BODY = b'{"name": "Ada",   "tags":["x"]}'


def upsert(key: str, body: bytes = BODY) -> Document:
    return Document(DocId("users", (key,)), body, version=7)


def tombstone(key: str) -> Document:
    return Document(DocId("users", (key,)), None, version=7)


def test_writes_an_action_line_then_the_body_as_is_and_a_delete_as_one_line() -> None:
    out = io.BytesIO()
    sink = StdoutSink(out)

    sink.write([upsert("1"), tombstone("2")])
    report = sink.flush(caught_up=True).result()

    assert out.getvalue().splitlines() == [
        b'{"index":{"_index":"users","_id":"1"}}',
        BODY,
        b'{"delete":{"_index":"users","_id":"2"}}',
    ]
    assert (report.written, report.deleted, report.rejected) == (1, 1, ())


def test_writes_nothing_until_flush() -> None:
    out = io.BytesIO()
    sink = StdoutSink(out)

    sink.write([upsert("1")])

    assert out.getvalue() == b""


def test_joins_composite_keys_and_escapes_ids() -> None:
    out = io.BytesIO()
    sink = StdoutSink(out)

    sink.write([Document(DocId("orders", ('a"b', "2")), None)])
    sink.flush(caught_up=False).result()

    assert orjson.loads(out.getvalue()) == {"delete": {"_index": "orders", "_id": 'a"b:2'}}


def test_pretty_output_indents_action_and_body() -> None:
    out = io.BytesIO()
    sink = StdoutSink(out, pretty=True)

    sink.write([upsert("1")])
    sink.flush(caught_up=True).result()

    assert out.getvalue() == (
        b'{\n  "index": {\n    "_index": "users",\n    "_id": "1"\n  }\n}\n'
        b'{\n  "name": "Ada",\n  "tags": [\n    "x"\n  ]\n}\n'
    )


def test_is_not_persistent_and_unseeded_unless_told_otherwise() -> None:
    sink = StdoutSink(io.BytesIO())
    sink.mark_seeded("users")

    assert sink.persistent is False
    assert sink.is_seeded("users") is False
    assert StdoutSink(io.BytesIO(), seeded=True).is_seeded("users") is True
