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
  partly rejected flush cannot leave an entry for a body the index may not hold; it also takes
  the id out of the earlier flushes still under way, so one of them completing cannot vouch for
  a body that a later write is replacing;
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

#: What one flush wrote to ids taking part: each id's remembered value, until the flush completes.
Written = dict[DocId, int | None]


def _seen(document: Document) -> int | None:
    """What is remembered of a document: its body's hash, or None for a delete."""
    return None if document.body is None else hash(document.body)


class Unchanged:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._durable: dict[DocId, int | None] = {}  # oldest first
        self._pending: Written = {}  # since the last seal
        self._sealed: list[Written] = []  # flushes under way, oldest first

    def is_unchanged(self, document: Document) -> bool:
        """Whether `document` can be dropped: its body is durable already. A different body
        forgets what was remembered, and is remembered itself once its flush succeeds."""
        seen = _seen(document)
        if self._durable.get(document.id, _UNKNOWN) == seen:
            return True
        self._durable.pop(document.id, None)
        for earlier in self._sealed:
            earlier.pop(document.id, None)
        self._pending[document.id] = seen
        return False

    def seal(self) -> Written:
        """A flush starts: what was written since the last one is its to vouch for."""
        sealed, self._pending = self._pending, {}
        self._sealed.append(sealed)
        return sealed

    def flushed(self, sealed: Written, rejected: Iterable[DocId]) -> None:
        """The flush that `seal` returned `sealed` for completed: its documents are durable,
        except `rejected`."""
        self._drop(sealed)
        for doc_id in rejected:
            sealed.pop(doc_id, None)
        durable = self._durable
        durable.update(sealed)  # new ids only: a written id left `durable` when it was written
        while len(durable) > self._capacity:
            del durable[next(iter(durable))]

    def failed(self, sealed: Written) -> None:
        """That flush failed: none of its documents is known to be durable."""
        self._drop(sealed)

    def forget(self, index: str) -> None:
        """The generations `index` writes to changed: what they hold is unknown."""
        self._durable = {doc_id: seen for doc_id, seen in self._durable.items() if doc_id.index != index}
        for written in (self._pending, *self._sealed):
            for doc_id in [doc_id for doc_id in written if doc_id.index == index]:
                del written[doc_id]

    def _drop(self, sealed: Written) -> None:
        self._sealed = [written for written in self._sealed if written is not sealed]
