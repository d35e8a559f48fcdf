"""The OpenSearch sink: documents become versioned bulk writes to every live generation."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from opensearchpy import OpenSearch

from flusso_engine.errors import FlushError, SinkError
from flusso_engine.model import Document, FlushReport, IndexSpec
from flusso_engine.sinks.opensearch.bulk import Action, BulkWriter, Chunker, Orphan, Refusal, encode, id_too_long
from flusso_engine.sinks.opensearch.client import OpenSearchSettings, connect
from flusso_engine.sinks.opensearch.lifecycle import Lifecycle
from flusso_engine.sinks.opensearch.meta import IndexState, MetaStore
from flusso_engine.sinks.opensearch.names import Generation, Names
from flusso_engine.sinks.opensearch.retry import Backoff
from flusso_engine.sinks.opensearch.stream import BulkStream, Segment
from flusso_engine.sinks.opensearch.unchanged import Unchanged, Written
from flusso_engine.sinks.opensearch.visibility import Visibility
from flusso_engine.sinks.protocol import Flushing

log = logging.getLogger(__name__)

#: Added to `state_refresh_seconds` before a backfill may start: covers the meta save landing
#: after `building_since` was taken, and clock skew when another host started the build.
NOTICE_MARGIN_SECS = 1.0


class OpenSearchSink:
    """Implements the Sink protocol on OpenSearch, every name under `prefix`.

    Documents are encoded as they are written and leave in bulk requests as soon as a request
    is full (see stream.py); flush sends the rest, and its result waits for them. While a
    generation is being built, each document goes to the serving generation and to the new one,
    so the new one is complete when it takes over.

    Another process (a Dagster reseed) may start, promote and delete generations while this
    sink writes. The sink re-reads its indexes' state at most every `state_refresh_seconds`,
    before a write, and writes only through write aliases, so a document aimed at a generation
    deleted meanwhile is sent again where the re-read state says, never into an auto-created index.
    Its backfill, though, fills one generation: the one being built when this sink ensured (or
    reindexed) the index. Only that one is promoted or given checkpoints (see lifecycle.py).
    """

    persistent = True

    def __init__(self, settings: OpenSearchSettings, prefix: str = "", *, client: OpenSearch | None = None) -> None:
        self._client = client or connect(settings)
        self._settings = settings
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
        self._visibility = Visibility(self._refresh, settings.visibility_seconds)
        self._specs: dict[str, IndexSpec] = {}
        self._states: dict[str, IndexState] = {}
        self._targets: dict[str, tuple[str, ...]] = {}
        #: Drops unchanged bodies, for seeded indexes only (written to their serving generation alone).
        self._unchanged = Unchanged()
        self._pending = _Pending()
        #: Per index, the generation this sink's backfill fills (None: it was seeded).
        self._filling: dict[str, Generation | None] = {}
        self._read_at = float("-inf")  # monotonic time of the last re-read of every state

    def ensure_index(self, index: IndexSpec) -> None:
        """See `reindex`: when this starts a schema change's build, it returns only once every
        other process's sink writes to the new generation too."""
        self._specs[index.name] = index
        state = self._lifecycle.ensure(index)
        self._filling[index.name] = state.building
        self._remember(index.name, state)
        self._let_other_sinks_notice(state)

    def is_seeded(self, index: str) -> bool:
        state = self._states.get(index) or self._meta.load(index)
        return state is not None and state.seeded

    def mark_seeded(self, index: str) -> None:
        self._remember(index, self._lifecycle.promote(index, self._filling.get(index)))

    def reindex(self, index: str) -> None:
        """Start a new generation, returning once every other process's sink writes to it too.

        Its backfill snapshots the source after this returns. A change committed before that
        snapshot is in the backfill; one committed after it is written by a sink (here or in
        another process) that decided its targets after the wait, hence knows the new generation.
        So nothing falls between the two, and external versions make their overlap harmless.
        """
        spec = self._specs.get(index)
        if spec is None:
            raise SinkError(f"cannot reindex {index!r} before ensure_index: the new generation is created from its mapping")
        state = self._lifecycle.reindex(index, spec)
        self._filling[index] = state.building
        self._remember(index, state)
        self._let_other_sinks_notice(state)

    def checkpoint(self, index: str) -> Any:
        """The backfill checkpoint saved for the generation being built, if any."""
        state = self._meta.load(index)
        return None if state is None else state.checkpoint

    def save_checkpoint(self, index: str, checkpoint: Any) -> None:
        """Store opaque JSON for the build in progress; it is cleared when the build completes.

        Without a build in progress (a backfill of an index that was seeded here already, which
        Dagster may ask for when its metadata was lost) there is nothing to resume: no-op."""
        generation = self._filling.get(index)
        if generation is None:
            return
        state = replace(self._lifecycle.building(index, generation), checkpoint=checkpoint)
        self._meta.save(index, state)
        self._remember(index, state)

    def write(self, documents: Iterable[Document]) -> None:
        if time.monotonic() - self._read_at >= self._settings.state_refresh_seconds:
            self._reread_states()
        self._stream.extend(self._actions(documents))

    def flush(self, caught_up: bool) -> Flushing:
        """Seal the requests written so far; the next writes go out while these complete."""
        pending, self._pending = self._pending, _Pending()
        segment, written = self._stream.seal(), self._unchanged.seal()
        return _Flush(segment, functools.partial(self._complete, pending, segment, written, caught_up))

    def _complete(self, pending: _Pending, segment: Segment, written: Written, caught_up: bool) -> FlushReport:
        """Wait for one flush's requests, resend its orphans, and report what it made durable."""
        try:
            outcome = self._stream.wait(segment)
            refusals = pending.refused + outcome.refused + self._redirect(outcome.orphaned)
        except BaseException:
            self._unchanged.failed(written)
            raise
        refused = {document.id: document for document, _ in refusals}
        self._unchanged.flushed(written, [*refused, *outcome.superseded])
        rejections = {rejection.id: rejection for _, rejection in reversed(refusals)}
        if caught_up:
            self._visibility.caught_up(physical for name in pending.indexes for physical in self._targets[name])
        refused_deletes = sum(1 for document in refused.values() if document.body is None)
        return FlushReport(
            written=pending.written - (len(refused) - refused_deletes),
            deleted=pending.deleted - refused_deletes,
            rejected=tuple(rejections.values()),
        )

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._visibility.close()
        self._client.close()

    def _remember(self, name: str, state: IndexState) -> None:
        self._states[name] = state
        targets = tuple(self._names.write_alias(name, generation) for generation in state.targets)
        if self._targets.get(name) != targets:
            self._unchanged.forget(name)
        self._targets[name] = targets

    def _reread_states(self) -> None:
        """One read of every known index's state; the clock is taken first, so the read is never
        older than the time recorded for it."""
        self._read_at = time.monotonic()
        if self._states:
            for name, state in self._meta.load_many(list(self._states)).items():
                self._remember(name, state)

    def _redirect(self, orphans: list[Orphan]) -> list[Refusal]:
        """Send documents whose generation was gone to the generations the state names now.

        A generation is deleted only after the state stopped naming it (lifecycle.py), so a
        re-read finds where they belong. A state that still names a gone generation means it was
        deleted outside flusso: the flush fails, and the next start's ensure_index rebuilds it.
        """
        refusals: list[Refusal] = []
        gone: set[str] = set()
        while orphans:
            gone.update(target for _, target in orphans)
            self._reread_states()
            # A document orphaned from several generations is sent once (by identity: Documents are not hashable).
            documents = list({id(document): document for document, _ in orphans}.values())
            indexes = {document.id.index for document in documents}
            missing = gone.intersection(target for index in indexes for target in self._targets[index])
            if missing:
                raise FlushError(
                    f"the index behind {', '.join(sorted(missing))} was deleted outside flusso; "
                    "restart so that ensure_index rebuilds it"
                )
            outcome = self._stream.send_now(
                encode(document, target) for document in documents for target in self._targets[document.id.index]
            )
            refusals += outcome.refused
            orphans = outcome.orphaned
        return refusals

    def _actions(self, documents: Iterable[Document]) -> Iterator[Action]:
        """Each document's action for every generation it goes to, counted on the way; one whose
        id OpenSearch would refuse is refused here, so it cannot fail a whole request."""
        pending, targets, states, unchanged = self._pending, self._targets, self._states, self._unchanged
        for document in documents:
            aliases = targets.get(document.id.index)
            if aliases is None:
                raise SinkError(f"document for index {document.id.index!r}, which ensure_index never created")
            pending.count(document)
            rejection = id_too_long(document)
            if rejection is not None:
                pending.refused.append((document, rejection))
                continue
            if states[document.id.index].seeded and unchanged.is_unchanged(document):
                continue  # durable with this body already: counted as written, not sent
            for alias in aliases:
                yield encode(document, alias)

    def _let_other_sinks_notice(self, state: IndexState) -> None:
        """Wait until `state_refresh_seconds` (plus a margin) have passed since its build started.

        Every sink re-reads the state at least that often before it writes, so from then on each
        of them sends every document to the new generation too. A brand-new index needs no wait:
        there is no other generation for a sink to be writing to instead. A build started long
        ago (a restarted reseed) waits no more.
        """
        if state.serving is None or state.building_since is None:
            return
        remaining = state.building_since + self._settings.state_refresh_seconds + NOTICE_MARGIN_SECS - time.time()
        if remaining > 0:
            time.sleep(remaining)

    def _refresh(self, indexes: list[str]) -> None:
        """Make flushed writes visible to search (see visibility.py); they are durable either
        way, so a failed refresh is only worth a warning, never a redelivery."""
        try:
            self._lifecycle.refresh(indexes)
        except SinkError as error:
            log.warning("%s", error)


@dataclass(frozen=True, slots=True)
class _Flush:
    """A flush whose requests may still be running; `complete` waits for them and reports."""

    segment: Segment
    complete: Callable[[], FlushReport]

    def done(self) -> bool:
        return self.segment.done()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        self.segment.add_done_callback(callback)

    def result(self) -> FlushReport:
        return self.complete()


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
