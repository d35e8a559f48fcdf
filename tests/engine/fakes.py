"""In-memory edges for the engine's specifications.

They share one `Journal`, an ordered log of what every edge was asked to do, so a test can state
orderings ("no confirm before its flush", "ensure before any write") directly.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

from flusso_engine.errors import FlushError
from flusso_engine.model import (
    Ack,
    Change,
    DocId,
    Document,
    FlushReport,
    IndexSpec,
    Lsn,
    Op,
    Rejection,
    RowKey,
    TableRef,
)
from flusso_engine.observer import NullObserver
from flusso_engine.sinks.protocol import Flushed, Flushing

USERS = TableRef("public", "users")


def change(key: int | str, seq: int, op: Op = Op.UPDATE, table: TableRef = USERS) -> Change:
    """A change of one row; its ack's LSN is derived from `seq` so versions are monotone."""
    return Change(op=op, table=table, key=(str(key),), ack=Ack(seq=seq, lsn=100 + seq))


def changes(*keys: int | str, op: Op = Op.UPDATE) -> list[Change]:
    return [change(key, seq, op) for seq, key in enumerate(keys)]


def snapshot_rows(*keys: int, table: TableRef = USERS) -> list[Change]:
    """Rows a backfill reads, a page each: SNAPSHOT changes at the snapshot's position."""
    bounds = [None, *((str(key),) for key in keys)]
    return [
        Change(Op.SNAPSHOT, table, upto, Ack(seq=seq, lsn=50), old_key=after)  # type: ignore[arg-type]
        for seq, (after, upto) in enumerate(zip(bounds, bounds[1:]))
    ]


def index(name: str = "users", root: TableRef = USERS) -> IndexSpec:
    return IndexSpec(name=name, root=root, mapping={"properties": {}})


class Journal(list[str]):
    """What the edges did, in order: "ensure users", "build users 1,3", "write users 1",
    "flush", "confirm 0,1", "mark_seeded users", "snapshot public.users"."""

    def entries(self, prefix: str) -> list[str]:
        return [entry for entry in self if entry.startswith(prefix)]


class ScriptedCapture:
    """Replays scripted live changes (and snapshots per root table), recording confirms.

    With `hold_open`, the live stream blocks after its script until `stop`, like a real idle
    stream; with `fail_with`, it raises after the script instead of ending.
    """

    def __init__(
        self,
        journal: Journal,
        live: Sequence[Change] = (),
        snapshot: dict[TableRef, Sequence[Change]] | None = None,
        *,
        hold_open: bool = False,
        fail_with: Exception | None = None,
    ) -> None:
        self.journal = journal
        self.script = list(live)
        self.snapshots = snapshot or {}
        self.hold_open = hold_open
        self.fail_with = fail_with
        self.confirmed: list[Ack] = []
        self.snapshot_calls: list[list[TableRef]] = []
        self.pulled = 0
        self.exhausted = threading.Event()
        self.stopped = threading.Event()
        self.closed = False

    def snapshot(self, tables: Sequence[TableRef], after: Mapping[TableRef, RowKey] | None = None) -> Iterator[Change]:
        """The scripted rows of each table, in script order (key order), a table named in
        `after` from the row following that key."""
        self.snapshot_calls.append(list(tables))
        self.journal.append("snapshot " + ",".join(str(table) for table in tables))
        starts = after or {}
        for table in tables:
            rows = list(self.snapshots.get(table, ()))
            start = starts.get(table)
            if start is not None:
                rows = rows[[row.key for row in rows].index(start) + 1:]
            yield from rows

    def live(self) -> Iterator[Change]:
        for item in self.script:
            if self.stopped.is_set():
                return
            self.pulled += 1
            yield item
        self.exhausted.set()
        if self.fail_with is not None:
            raise self.fail_with
        if self.hold_open:
            self.stopped.wait()

    def confirm(self, acks: Sequence[Ack]) -> None:
        self.confirmed.extend(acks)
        self.journal.append("confirm " + ",".join(str(ack.seq) for ack in acks))

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        self.closed = True

    @property
    def confirmed_seqs(self) -> list[int]:
        return sorted(ack.seq for ack in self.confirmed)


class PausingCapture(ScriptedCapture):
    """Yields its first change, then the rest once `resume` is set; then stays open."""

    def __init__(self, journal: Journal, resume: threading.Event, script: Sequence[Change]) -> None:
        super().__init__(journal, script, hold_open=True)
        self.resume = resume

    def live(self) -> Iterator[Change]:
        stream = super().live()
        yield next(stream)
        self.resume.wait(5)
        yield from stream


class InMemoryBuilder:
    """Resolves a change on an index's root table to that row's key; builds from `rows`.

    `rows` is the current database: a document's body when its key is there, a tombstone when not
    (keys missing from `rows` entirely get a small default body, so most tests need no data).
    """

    def __init__(
        self,
        journal: Journal,
        indexes: Sequence[IndexSpec] = (index(),),
        rows: dict[RowKey, bytes | None] | None = None,
        *,
        on_resolve: Callable[[], None] | None = None,
        on_page: Callable[[], None] | None = None,
    ) -> None:
        self.journal = journal
        self.specs = list(indexes)
        self.rows = rows or {}
        self.on_resolve = on_resolve
        self.on_page = on_page
        self.builds: list[tuple[str, frozenset[RowKey], Lsn]] = []
        self.pages: list[tuple[str, RowKey | None, RowKey]] = []
        self.closed = False

    def indexes(self) -> Sequence[IndexSpec]:
        return self.specs

    def resolve(self, changes: Sequence[Change]) -> dict[str, set[RowKey]]:
        if self.on_resolve is not None:
            self.on_resolve()
        targets: dict[str, set[RowKey]] = {}
        for spec in self.specs:
            keys = {item.key for item in changes if item.table == spec.root and item.op is not Op.TRUNCATE}
            if keys:
                targets[spec.name] = keys
        return targets

    def build(self, index: str, keys: Collection[RowKey], version: Lsn) -> list[Document]:
        self.builds.append((index, frozenset(keys), version))
        self.journal.append(f"build {index} " + ",".join(":".join(key) for key in sorted(keys)))
        return [
            Document(DocId(index, key), self.rows.get(key, b'{"id":"%s"}' % key[0].encode()), version)
            for key in sorted(keys)
        ]

    def build_page(self, index: str, after: RowKey | None, upto: RowKey, version: Lsn) -> list[Document]:
        """A scripted page holds one row (see snapshot_rows): its last; none if `rows` deleted it."""
        if self.on_page is not None:
            self.on_page()
        self.pages.append((index, after, upto))
        return [document for document in self.build(index, [upto], version) if document.body is not None]

    def close(self) -> None:
        self.closed = True


class RecordingSink:
    """Stages writes and applies them to `store` on flush, like a durable destination.

    Keeps a backfill checkpoint per index (`checkpoints`, which a test may preset), forgotten
    when the index is marked seeded or reindexed, as a sink forgets a finished or restarted build.

    `fail_flush` makes that flush (1-based) fail with a FlushError without applying anything;
    `reject` names `_id`s whose items are refused (not stored) while the flush succeeds;
    `flush_gate`, when set, is waited on inside every flush (to hold a batch in flight);
    `completion_gate`, when set, holds every flush under way (not done) until it is set, as a
    node still indexing a flush's last requests would.
    """

    persistent = True

    def __init__(
        self,
        journal: Journal,
        *,
        seeded: Collection[str] = (),
        store: dict[DocId, bytes] | None = None,
        fail_flush: int | None = None,
        reject: Collection[str] = (),
        flush_gate: threading.Event | None = None,
        completion_gate: threading.Event | None = None,
        checkpoints: dict[str, Any] | None = None,
    ) -> None:
        self.journal = journal
        self.seeded = set(seeded)
        self.checkpoints = checkpoints if checkpoints is not None else {}
        self.store = store if store is not None else {}
        self.fail_flush = fail_flush
        self.reject = set(reject)
        self.flush_gate = flush_gate
        self.completion_gate = completion_gate
        self.in_flush = threading.Event()
        self.staged: list[Document] = []
        self.flushes: list[bool] = []
        self.held: list[_HeldFlush] = []  # the flushes a completion gate held
        self.closed = False

    def ensure_index(self, index: IndexSpec) -> None:
        self.journal.append(f"ensure {index.name}")

    def is_seeded(self, index: str) -> bool:
        return index in self.seeded

    def mark_seeded(self, index: str) -> None:
        self.seeded.add(index)
        self.checkpoints.pop(index, None)
        self.journal.append(f"mark_seeded {index}")

    def checkpoint(self, index: str) -> Any | None:
        return self.checkpoints.get(index)

    def save_checkpoint(self, index: str, checkpoint: Any) -> None:
        self.checkpoints[index] = checkpoint
        self.journal.append(f"checkpoint {index}")

    def reindex(self, index: str) -> None:
        self.seeded.discard(index)
        self.checkpoints.pop(index, None)
        self.journal.append(f"reindex {index}")

    def write(self, documents: Iterable[Document]) -> None:
        for document in documents:
            op = "delete" if document.is_tombstone else "write"
            self.journal.append(f"{op} {document.id.index} {document.id.text}")
            self.staged.append(document)

    def flush(self, caught_up: bool) -> Flushing:
        self.in_flush.set()
        if self.flush_gate is not None:
            self.flush_gate.wait()
        self.flushes.append(caught_up)
        self.journal.append("flush")
        staged, self.staged = self.staged, []
        complete = functools.partial(self._complete, staged, len(self.flushes))
        if self.completion_gate is None:
            return Flushed(complete())
        self.held.append(_HeldFlush(complete, self.completion_gate))
        return self.held[-1]

    def _complete(self, staged: list[Document], number: int) -> FlushReport:
        if self.fail_flush == number:
            raise FlushError(f"flush {number} failed")
        rejected = []
        for document in staged:
            if document.id.text in self.reject:
                rejected.append(Rejection(document.id, 400, "mapper_parsing_exception"))
            elif document.body is None:
                self.store.pop(document.id, None)
            else:
                self.store[document.id] = document.body
        return FlushReport(written=len(staged) - len(rejected), rejected=tuple(rejected))

    def close(self) -> None:
        self.closed = True


class _HeldFlush:
    """A flush that is done once its gate is set, and completes when its result is taken."""

    def __init__(self, complete: Callable[[], FlushReport], gate: threading.Event) -> None:
        self._complete = complete
        self._gate = gate
        self.done_asked = 0  # how often `done` was called: a waiter should sleep, not poll

    def done(self) -> bool:
        self.done_asked += 1
        return self._gate.is_set()

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        threading.Thread(target=lambda: (self._gate.wait(), callback()), daemon=True).start()

    def result(self) -> FlushReport:
        self._gate.wait()
        return self._complete()


class RecordingObserver(NullObserver):
    """Records every event as (name, args)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[object, ...]]] = []

    def named(self, name: str) -> list[tuple[object, ...]]:
        return [args for event, args in self.events if event == name]


def _recorder(name: str) -> Callable[..., None]:
    def record(self: RecordingObserver, *args: object) -> None:
        self.events.append((name, args))

    return record


for _event in (
    "started", "index_ensured", "backfill_started", "backfill_progress", "index_seeded",
    "live_started", "batch_flushed", "caught_up", "document_quarantined", "error", "stopped",
):  # fmt: skip
    setattr(RecordingObserver, _event, _recorder(_event))


class Background:
    """Runs `target` on a thread and hands back its error, so a test can act while it runs."""

    def __init__(self, target: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self._target = target
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._target()
        except BaseException as error:
            self.error = error

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "still running after the timeout"
