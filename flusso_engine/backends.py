"""The composition root: a loaded Config becomes concrete edges and an Engine.

The only module that knows every backend. The engine sees protocols; the CLI and the Dagster
code location ask this module for edges, so both run exactly the same wiring.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Literal

from flusso_engine.capture.polling import PollingCapture
from flusso_engine.capture.protocol import ChangeCapture
from flusso_engine.capture.slot import SlotSource
from flusso_engine.capture.wal import WalCapture
from flusso_engine.collector import settle_for_streaming
from flusso_engine.documents.postgres import PostgresDocumentBuilder
from flusso_engine.engine import DEFAULT_QUEUE_CAPACITY, Engine
from flusso_engine.errors import ConfigError
from flusso_engine.model import TableRef
from flusso_engine.observer import Observer
from flusso_engine.policy import BatchPolicy, FailurePolicies, FailurePolicy
from flusso_engine.schema import Config, Index, OpenSearchSink, StdoutSink
from flusso_engine.sinks.fanout import FanOutSink
from flusso_engine.sinks.opensearch.client import OpenSearchSettings
from flusso_engine.sinks.opensearch.sink import OpenSearchSink as OpenSearchSinkEdge
from flusso_engine.sinks.protocol import Sink
from flusso_engine.sinks.stdout import StdoutSink as StdoutSinkEdge

Transport = Literal["wal", "polling"]


@dataclass(frozen=True)
class RunOptions:
    """How to run, beyond what flusso.toml says. Defaults are the reference CLI's."""

    slot: str = "flusso"
    publication: str = "flusso"
    manage_publication: bool | None = None  # None: the config's [source] manage_publication
    index_prefix: str | None = None  # None: the config's prefix
    transport: Transport = "wal"
    skip_backfill: bool = False
    queue_capacity: int = DEFAULT_QUEUE_CAPACITY
    batch: BatchPolicy = field(default_factory=BatchPolicy)
    pretty: bool = False  # stdout output when no sink is configured


def selected_indexes(config: Config, only: Collection[str] | None = None) -> tuple[Index, ...]:
    """The enabled indexes, or just `only` of them; naming an unknown or disabled one is an error."""
    enabled = {index.name: index for index in config.enabled_indexes()}
    if only is None:
        return tuple(enabled.values())
    unknown = sorted(set(only) - enabled.keys())
    if unknown:
        raise ConfigError(
            f"{config.path}: no enabled index named {', '.join(unknown)}; "
            f"enabled indexes: {', '.join(sorted(enabled)) or 'none'}"
        )
    return tuple(enabled[name] for name in only)


def tables_read(indexes: Collection[Index]) -> set[TableRef]:
    """Every table the indexes read: what the publication must cover."""
    return {TableRef(index.index_schema.db_schema, table) for index in indexes for table in index.index_schema.tables()}


def opensearch_settings(sink: OpenSearchSink) -> OpenSearchSettings:
    return OpenSearchSettings(
        url=sink.url.get_secret_value(),
        username=sink.username.get_secret_value() if sink.username else None,
        password=sink.password.get_secret_value() if sink.password else None,
        tls_verify=sink.tls_verify,
        batch_size=sink.batch_size,
        max_bytes=sink.max_bytes,
        timeout_secs=sink.timeout_secs,
        max_retries=sink.max_retries,
        pipeline=sink.pipeline,
        number_of_shards=sink.number_of_shards,
        number_of_replicas=sink.number_of_replicas,
        refresh_interval=sink.refresh_interval,
    )


def build_sink(config: Config, options: RunOptions) -> Sink:
    """One sink per [sinks.NAME], fanned out when there are several; stdout when there is none."""
    prefix = config.prefix if options.index_prefix is None else options.index_prefix
    sinks: list[Sink] = []
    for sink in config.sinks.values():
        if isinstance(sink, OpenSearchSink):
            sinks.append(OpenSearchSinkEdge(opensearch_settings(sink), prefix))
        elif isinstance(sink, StdoutSink):
            sinks.append(StdoutSinkEdge(pretty=sink.pretty))
    if not sinks:
        return StdoutSinkEdge(pretty=options.pretty)
    return sinks[0] if len(sinks) == 1 else FanOutSink(sinks)


def build_capture(config: Config, options: RunOptions, indexes: Collection[Index]) -> ChangeCapture:
    manage = config.source.manage_publication if options.manage_publication is None else options.manage_publication
    source = SlotSource(
        config.source.url.get_secret_value(), options.slot, options.publication, frozenset(tables_read(indexes)), manage
    )
    return PollingCapture(source) if options.transport == "polling" else WalCapture(source)


def build_builder(config: Config, indexes: Collection[Index]) -> PostgresDocumentBuilder:
    return PostgresDocumentBuilder(
        config.source.url.get_secret_value(), {index.name: (index.index_schema, index.spec()) for index in indexes}
    )


def failure_policies(config: Config) -> FailurePolicies:
    return FailurePolicies(
        FailurePolicy(config.on_error), {index.name: FailurePolicy(index.on_error) for index in config.indexes}
    )


def build_engine(
    config: Config,
    options: RunOptions,
    *,
    only: Collection[str] | None = None,
    observer: Observer | None = None,
    wrap_sink: Callable[[Sink], Sink] | None = None,
) -> Engine:
    """An Engine over the configured edges for the enabled indexes (or `only` some of them).

    The capture always covers every enabled index's tables, so the publication a partial run
    creates or extends is the one the live run needs. `wrap_sink` lets a caller decorate the
    sink, e.g. Dagster answering `is_seeded` from asset metadata. The process's garbage
    collector is set for streaming (see collector.py) once the edges are built.
    """
    chosen = selected_indexes(config, only)
    sink = build_sink(config, options)
    if wrap_sink is not None:
        sink = wrap_sink(sink)
    capture = build_capture(config, options, selected_indexes(config))
    builder = build_builder(config, chosen)
    settle_for_streaming()
    return Engine(
        capture, builder, sink,
        queue_capacity=options.queue_capacity, batch=options.batch, failures=failure_policies(config),
        observer=observer, skip_backfill=options.skip_backfill,
    )
