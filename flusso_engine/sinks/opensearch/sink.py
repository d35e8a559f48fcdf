"""The OpenSearch sink: documents become versioned bulk writes to every live generation."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from opensearchpy import OpenSearch

from flusso_engine.errors import SinkError
from flusso_engine.model import Document, FlushReport, IndexSpec
from flusso_engine.sinks.opensearch.bulk import BulkWriter, Chunker, Refusal, encode, id_too_long
from flusso_engine.sinks.opensearch.client import OpenSearchSettings, connect
from flusso_engine.sinks.opensearch.lifecycle import Lifecycle
from flusso_engine.sinks.opensearch.meta import IndexState, MetaStore
from flusso_engine.sinks.opensearch.names import Names
from flusso_engine.sinks.opensearch.retry import Backoff
from flusso_engine.sinks.opensearch.stream import BulkStream

log = logging.getLogger(__name__)


class OpenSearchSink:
    """Implements the Sink protocol on OpenSearch, every name under `prefix`.

    Documents are encoded as they are written and leave in bulk requests as soon as a request
    is full (see stream.py); flush sends the rest and waits. While a generation is being built,
    each document goes to the serving generation and to the new one, so the new one is complete
    when it takes over.
    """

    persistent = True

    def __init__(self, settings: OpenSearchSettings, prefix: str = "", *, client: OpenSearch | None = None) -> None:
        self._client = client or connect(settings)
        self._names = Names(prefix)
        backoff = Backoff(settings.max_retries)
        self._meta = MetaStore(self._client, self._names, backoff, settings.number_of_replicas)
        self._lifecycle = Lifecycle(self._client, self._names, self._meta, settings, backoff)
        self._executor = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="flusso-bulk")
        writer = BulkWriter(
            self._client.transport.get_connection(), backoff=backoff,
            timeout_secs=settings.timeout_secs, pipeline=settings.pipeline,
        )
        self._stream = BulkStream(
            writer, self._executor, Chunker(settings.batch_size, settings.max_bytes),
            max_in_flight=2 * settings.concurrency,  # one running and one ready per worker
        )
        self._specs: dict[str, IndexSpec] = {}
        self._states: dict[str, IndexState] = {}
        self._targets: dict[str, tuple[str, ...]] = {}
        self._pending = _Pending()

    def ensure_index(self, index: IndexSpec) -> None:
        self._specs[index.name] = index
        self._remember(index.name, self._lifecycle.ensure(index))

    def is_seeded(self, index: str) -> bool:
        state = self._states.get(index) or self._meta.load(index)
        return state is not None and state.seeded

    def mark_seeded(self, index: str) -> None:
        self._remember(index, self._lifecycle.promote(index))

    def reindex(self, index: str) -> None:
        self._remember(index, self._lifecycle.reindex(index, self._specs.get(index)))

    def checkpoint(self, index: str) -> Any:
        """The backfill checkpoint saved for the generation being built, if any."""
        state = self._meta.load(index)
        return None if state is None else state.checkpoint

    def save_checkpoint(self, index: str, checkpoint: Any) -> None:
        """Store opaque JSON for the build in progress; it is cleared when the build completes."""
        state = self._meta.load(index)
        if state is None or state.building is None:
            raise SinkError(f"cannot save a checkpoint for {index!r}: no generation of it is being built")
        state = replace(state, checkpoint=checkpoint)
        self._meta.save(index, state)
        self._remember(index, state)

    def write(self, documents: Iterable[Document]) -> None:
        pending, targets, stream = self._pending, self._targets, self._stream
        for document in documents:
            physicals = targets.get(document.id.index)
            if physicals is None:
                raise SinkError(f"document for index {document.id.index!r}, which ensure_index never created")
            pending.count(document)
            rejection = id_too_long(document)
            if rejection is not None:
                pending.refused.append((document, rejection))
                continue
            for physical in physicals:
                stream.add(encode(document, physical))

    def flush(self, caught_up: bool) -> FlushReport:
        pending, self._pending = self._pending, _Pending()
        refusals = pending.refused + self._stream.drain()
        refused = {document.id: document for document, _ in refusals}
        rejections = {rejection.id: rejection for _, rejection in reversed(refusals)}
        if caught_up and pending.indexes:
            self._refresh({physical for name in pending.indexes for physical in self._targets[name]})
        refused_deletes = sum(1 for document in refused.values() if document.body is None)
        return FlushReport(
            written=pending.written - (len(refused) - refused_deletes),
            deleted=pending.deleted - refused_deletes,
            rejected=tuple(rejections.values()),
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._client.close()

    def _remember(self, name: str, state: IndexState) -> None:
        self._states[name] = state
        self._targets[name] = tuple(self._names.physical(name, generation) for generation in state.targets)

    def _refresh(self, indexes: set[str]) -> None:
        """Make the flush visible to search; the writes are durable either way, so a failed
        refresh is only worth a warning, never a redelivery."""
        try:
            self._lifecycle.refresh(sorted(indexes))
        except SinkError as error:
            log.warning("%s", error)



@dataclass
class _Pending:
    """What the documents written since the last flush amount to."""

    written: int = 0
    deleted: int = 0
    indexes: set[str] = field(default_factory=set)
    refused: list[Refusal] = field(default_factory=list)

    def count(self, document: Document) -> None:
        if document.body is None:
            self.deleted += 1
        else:
            self.written += 1
        self.indexes.add(document.id.index)
