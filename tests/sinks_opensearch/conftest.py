"""Fixtures for the OpenSearch sink tests: a sink under the test's own prefix on the real node."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import orjson
import pytest

from flusso_engine.model import DocId, Document, IndexSpec, TableRef
from flusso_engine.sinks.opensearch import OpenSearchSettings, OpenSearchSink

USERS_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {"name": {"type": "keyword"}, "age": {"type": "integer"}},
}


def users_spec(content_hash: str = "aaaa1111", mapping: dict[str, Any] | None = None) -> IndexSpec:
    return IndexSpec("users", TableRef("public", "users"), mapping or USERS_MAPPING, content_hash)


def user(key: int | str, version: int = 1, **fields: Any) -> Document:
    body = {"name": f"user {key}", "age": 30} | fields
    return Document(DocId("users", (str(key),)), orjson.dumps(body), version)


def tombstone(key: int | str, version: int = 1) -> Document:
    return Document(DocId("users", (str(key),)), None, version)


@pytest.fixture
def settings(opensearch_url: str) -> OpenSearchSettings:
    """A short state refresh, so that starting a build waits about a second, not six."""
    return OpenSearchSettings(url=opensearch_url, number_of_replicas=0, state_refresh_seconds=0.2)


@pytest.fixture
def make_sink(settings: OpenSearchSettings, index_prefix: str) -> Iterator[Callable[..., OpenSearchSink]]:
    """Sinks under the test's prefix (or another one); each is closed after the test."""
    sinks: list[OpenSearchSink] = []

    def make(prefix: str = index_prefix, **overrides: Any) -> OpenSearchSink:
        sink = OpenSearchSink(replace(settings, **overrides), prefix)
        sinks.append(sink)
        return sink

    yield make
    for sink in sinks:
        sink.close()


@pytest.fixture
def sink(make_sink: Callable[..., OpenSearchSink]) -> OpenSearchSink:
    """A sink with `users` ensured."""
    sink = make_sink()
    sink.ensure_index(users_spec())
    return sink
