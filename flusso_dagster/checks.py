"""Asset checks: does each index hold what its source says it should?

- document_count: OpenSearch holds exactly as many documents as there are root rows that are
  documents (soft-deleted and filtered-out rows excluded, by the builder's own rules);
- mapping: the serving index's mapping is the one flusso generates from the schema;
- slot_lag: the replication slot holds back less WAL than a threshold;
- content_sample: N random documents rebuilt from Postgres equal the indexed ones.
Counts and samples race with live changes, so the data checks warn rather than error.
"""

import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import dagster as dg
import orjson
from opensearchpy import OpenSearch

from flusso_engine.backends import build_builder
from flusso_engine.capture.position import slot_position
from flusso_engine.documents.postgres import PostgresDocumentBuilder
from flusso_engine.schema import Config, Index
from flusso_dagster.resources import FlussoResource, opensearch_client
from flusso_dagster.translator import FlussoTranslator

LAG_THRESHOLD_BYTES = 64 * 1024 * 1024
SAMPLE_SIZE = 20


@dataclass
class _Subject:
    """What a check looks at: one index of the loaded config, its alias and connections."""

    config: Config
    index: Index
    alias: str
    slot: str
    client: OpenSearch
    builder: Callable[[], PostgresDocumentBuilder]


@contextmanager
def _subject(flusso: FlussoResource, index_name: str) -> Iterator[_Subject]:
    config = flusso.load()
    index = next(i for i in config.enabled_indexes() if i.name == index_name)
    with ExitStack() as stack:
        client = opensearch_client(config)
        if client is None:
            raise dg.Failure("the config has no OpenSearch sink: there is no index to check")
        stack.callback(client.close)

        def builder() -> PostgresDocumentBuilder:
            built = build_builder(config, [index])
            stack.callback(built.close)
            return built

        yield _Subject(config, index, f"{flusso.prefix(config)}{index.name}", flusso.slot, client, builder)


def document_count(subject: _Subject) -> dg.AssetCheckResult:
    subject.client.indices.refresh(index=subject.alias)
    indexed = subject.client.count(index=subject.alias)["count"]
    expected = subject.builder().document_count(subject.index.name)
    return dg.AssetCheckResult(passed=indexed == expected, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"indexed": indexed, "expected": expected, "difference": indexed - expected})


def _as_served(node: object) -> object:
    """A generated mapping the way OpenSearch reports it back: an object field with
    sub-properties is reported without its implied `"type": "object"`."""
    if not isinstance(node, dict):
        return node
    shown = {key: _as_served(value) for key, value in node.items()}
    if "properties" in shown and shown.get("type") == "object":
        del shown["type"]
    return shown


def mapping(subject: _Subject) -> dg.AssetCheckResult:
    served = next(iter(subject.client.indices.get_mapping(index=subject.alias).values()))["mappings"].get("properties", {})
    generated = _as_served(subject.index.mapping.get("mappings", subject.index.mapping).get("properties", {}))
    assert isinstance(generated, dict)
    differing = sorted(name for name in generated.keys() | served.keys() if generated.get(name) != served.get(name))
    return dg.AssetCheckResult(passed=not differing, metadata={"differing_fields": ", ".join(differing) or "none"})


def slot_lag(subject: _Subject) -> dg.AssetCheckResult:
    lag = slot_position(subject.config.source.url.get_secret_value(), subject.slot).lag_bytes
    if lag is None:
        return dg.AssetCheckResult(passed=True, metadata={"note": f"slot {subject.slot!r} does not exist yet"})
    return dg.AssetCheckResult(passed=lag < LAG_THRESHOLD_BYTES, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"lag_bytes": lag, "threshold_bytes": LAG_THRESHOLD_BYTES})


def content_sample(subject: _Subject) -> dg.AssetCheckResult:
    query = {"function_score": {"random_score": {"seed": random.randrange(1 << 30), "field": "_seq_no"}}}
    hits = subject.client.search(index=subject.alias, body={"size": SAMPLE_SIZE, "query": query})["hits"]["hits"]
    keys = [tuple(hit["_id"].split(":")) for hit in hits]
    rebuilt = {doc.id.text: doc.body for doc in subject.builder().build(subject.index.name, keys, 0)}
    differing = [hit["_id"] for hit in hits
                 if rebuilt.get(hit["_id"]) is None or orjson.loads(rebuilt[hit["_id"]]) != hit["_source"]]
    return dg.AssetCheckResult(passed=not differing, severity=dg.AssetCheckSeverity.WARN, metadata={
        "sampled": len(hits), "differing": len(differing), "differing_ids": ", ".join(differing[:10]) or "none"})


CHECKS: dict[str, tuple[Callable[[_Subject], dg.AssetCheckResult], str]] = {
    "document_count": (document_count, "OpenSearch holds exactly the root rows that are documents."),
    "mapping": (mapping, "The serving index's mapping equals the one generated from the schema."),
    "slot_lag": (slot_lag, f"The replication slot holds back less than {LAG_THRESHOLD_BYTES >> 20} MiB of WAL."),
    "content_sample": (content_sample, f"{SAMPLE_SIZE} random documents rebuilt from Postgres equal the indexed ones."),
}


def build_index_checks(indexes: Sequence[Index], translator: FlussoTranslator) -> list[dg.AssetChecksDefinition]:
    return [_check(index, translator, name) for index in indexes for name in CHECKS]


def _check(index: Index, translator: FlussoTranslator, name: str) -> dg.AssetChecksDefinition:
    evaluate, description = CHECKS[name]

    @dg.asset_check(asset=translator.get_index_key(index), name=name, description=description, blocking=False)
    def _run(flusso: FlussoResource) -> dg.AssetCheckResult:
        with _subject(flusso, index.name) as subject:
            return evaluate(subject)

    return _run
