"""Documents whose body is already durable in the index are not sent again.

Live sync rebuilds every document a change may affect, and many come out as they were: an order
rebuilt because a product's price changed (the order shows the product's name only), a user
whose unindexed column changed. Under the demo's shop load one rebuilt document in eight had the
body written for it last time (bench B3). Sending it again costs the node as much as a real
change: the old version deleted, the new one parsed and indexed, nested documents and all.

So the sink remembers, per document id, a hash of the last body it made durable (None for a
delete) and drops a write whose body hashes the same. What it remembers is only ever what the
index holds:
- an entry is added only after a flush succeeded, and not for a document that flush rejected;
- writing a different body for an id forgets its entry at once, before the flush, so a failed or
  partly rejected flush cannot leave an entry for a body the index may not hold;
- only indexes written to their serving generation alone take part: while a generation is being
  built (a backfill, a reseed) every write goes through, and an index's entries go whenever the
  generations it writes to change;
- memory is bounded (the most recently written `capacity` ids) and lasts as long as the process.

The hash is Python's keyed 64-bit hash of the body: two different bodies of one document collide
with a chance of one in 2^64, and its key is random per process, so no input can aim for one.
"""

from __future__ import annotations

from collections.abc import Iterable

from flusso_engine.model import DocId, Document

#: Document ids remembered: a few seconds of a busy live stream, a few MB.
CAPACITY = 65_536

_UNKNOWN = object()


def _seen(document: Document) -> int | None:
    """What is remembered of a document: its body's hash, or None for a delete."""
    return None if document.body is None else hash(document.body)


class Unchanged:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._durable: dict[DocId, int | None] = {}  # oldest first
        self._pending: dict[DocId, int | None] = {}

    def is_unchanged(self, document: Document) -> bool:
        """Whether `document` can be dropped: its body is durable already. A different body
        forgets what was remembered, and is remembered itself once its flush succeeds."""
        seen = _seen(document)
        if self._durable.get(document.id, _UNKNOWN) == seen:
            return True
        self._durable.pop(document.id, None)
        self._pending[document.id] = seen
        return False

    def flushed(self, rejected: Iterable[DocId]) -> None:
        """The documents written since the last flush are durable, except `rejected`."""
        pending, self._pending = self._pending, {}
        for doc_id in rejected:
            pending.pop(doc_id, None)
        durable = self._durable
        durable.update(pending)  # new ids only: a written id left `durable` when it was written
        while len(durable) > self._capacity:
            del durable[next(iter(durable))]

    def failed(self) -> None:
        """A flush failed: nothing written since the last one is known to be durable."""
        self._pending = {}

    def forget(self, index: str) -> None:
        """The generations `index` writes to changed: what they hold is unknown."""
        self._durable = {doc_id: seen for doc_id, seen in self._durable.items() if doc_id.index != index}
        self._pending = {doc_id: seen for doc_id, seen in self._pending.items() if doc_id.index != index}
