"""`flusso indexes`: what OpenSearch serves for each enabled index, read from the sink's own state.

The meta index says which generation serves and which is being built; the serving generation
says how many documents readers see; the slot says how far behind the source the run is. Read
only: safe next to a live run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import TransportError

from flusso_engine.backends import opensearch_settings
from flusso_engine.capture.position import slot_position
from flusso_engine.errors import ConfigError, FlussoError
from flusso_engine.schema import Config, OpenSearchSink
from flusso_engine.sinks.opensearch.client import connect
from flusso_engine.sinks.opensearch.meta import IndexState
from flusso_engine.sinks.opensearch.names import Names
from flusso_engine.sinks.opensearch.retry import describe


@dataclass(frozen=True)
class IndexReport:
    name: str
    alias: str
    serving: str | None  # the physical index the aliases point at
    building: str | None  # a generation being seeded (first build, schema change, reindex)
    seeded: bool
    documents: int | None  # in the serving generation


def opensearch_client(config: Config) -> OpenSearch:
    """A client for the config's (first) OpenSearch sink: where index state lives."""
    sink = next((s for s in config.sinks.values() if isinstance(s, OpenSearchSink)), None)
    if sink is None:
        raise ConfigError(f"{config.path}: no [sinks.NAME] of type \"opensearch\"; indexes live in OpenSearch")
    return connect(opensearch_settings(sink))


def index_reports(config: Config, client: OpenSearch, prefix: str) -> list[IndexReport]:
    names = Names(prefix)
    enabled = [index.name for index in config.enabled_indexes()]
    try:
        found = client.mget(index=names.meta_index, body={"ids": enabled}, ignore=404) if enabled else {}
        states = {doc["_id"]: IndexState.from_json(doc["_source"]) for doc in found.get("docs", []) if doc.get("found")}
        reports = []
        for name in enabled:
            state = states.get(name, IndexState())
            serving = names.physical(name, state.serving) if state.serving else None
            building = names.physical(name, state.building) if state.building else None
            documents = client.count(index=serving)["count"] if serving else None
            reports.append(IndexReport(name, names.convenience_alias(name), serving, building, state.seeded, documents))
        return reports
    except (TransportError, TransportConnectionError) as error:
        raise FlussoError(f"cannot read index state from OpenSearch: {describe(error)}") from error


def slot_lag(config: Config, slot: str) -> int | None:
    """Bytes of WAL the slot has not confirmed; None when it does not exist yet."""
    return slot_position(config.source.url.get_secret_value(), slot).lag_bytes


def render_json(reports: list[IndexReport], slot: str, lag: int | None) -> dict[str, object]:
    return {"slot": slot, "slot_lag_bytes": lag, "indexes": [asdict(report) for report in reports]}


def render_human(reports: list[IndexReport], slot: str, lag: int | None) -> str:
    rows = [("INDEX", "ALIAS", "SERVING", "BUILDING", "SEEDED", "DOCUMENTS")] + [
        (r.name, r.alias, r.serving or "-", r.building or "-", "yes" if r.seeded else "no",
         "-" if r.documents is None else f"{r.documents:,}")
        for r in reports
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"slot {slot}: " + ("does not exist yet" if lag is None else f"{lag:,} bytes behind"))
    return "\n".join(lines)
