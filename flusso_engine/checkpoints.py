"""Backfill checkpoints: a killed backfill resumes after its last flushed key instead of starting over.

A backfill reads each root table in primary-key order, so "every row up to key K is in the
index" is one key per index. After each batch is flushed and confirmed, the engine saves for
every index being seeded the last key of its root read so far, with the sink, which ties it to
the generation being built and forgets it when a new build starts or the build completes. The
next run snapshots that root strictly after the key, redoing at most the batch whose flush
finished before the process died and whose checkpoint did not.

Why the resumed index ends correct:
- every row with a key up to the checkpoint was built and flushed into the generation being
  built, at a version no newer than the state it was read from;
- a change to such a row committed since is still in the replication slot (a backfill confirms
  nothing, so the slot cannot move past it) and reaches the index when live capture replays the
  slot, or, where another process follows live changes meanwhile, that process's sink writes it
  to the generation being built too; a capture whose slot was created just now, and so holds
  none of those changes, ignores the checkpoint and reads every row (see capture/snapshot.py);
- the rows after the checkpoint are read by the new snapshot's pages, which are consistent with
  where live capture starts, exactly as in a backfill from the start;
- versions keep a document built from an older state from overwriting one built from a newer.
A root resumes only where every index being seeded from it agrees on the key (else it starts
over): one snapshot serves them all, so the earliest of their progress is the only safe start,
and differing checkpoints mean an index's build was restarted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from flusso_engine.model import Change, IndexSpec, RowKey, TableRef
from flusso_engine.sinks.protocol import Sink

logger = logging.getLogger(__name__)


def resume_points(sink: Sink, unseeded: Sequence[IndexSpec]) -> dict[TableRef, RowKey]:
    """For each root table, the key its snapshot resumes after: the one every index being
    seeded from it has saved. A root missing here is read from the start."""
    saved: dict[TableRef, list[RowKey | None]] = {}
    for spec in unseeded:
        saved.setdefault(spec.root, []).append(_decode(spec.root, sink.checkpoint(spec.name)))
    points: dict[TableRef, RowKey] = {}
    for root, keys in saved.items():
        first = keys[0]
        if first is not None and all(key == first for key in keys):
            logger.info("backfill of %s resumes after key %s", root, ":".join(first))
            points[root] = first
    return points


class CheckpointKeeper:
    """Saves each index's checkpoint once a batch is flushed: the `on_flushed` of a backfill.

    Snapshot pages come table by table in key order, so the last page of a root in a batch ends
    at the furthest row of it that is durable once that batch (and every earlier one) is.
    """

    def __init__(self, sink: Sink, unseeded: Sequence[IndexSpec]) -> None:
        self._sink = sink
        self._indexes: dict[TableRef, list[str]] = {}
        for spec in unseeded:
            self._indexes.setdefault(spec.root, []).append(spec.name)

    def __call__(self, changes: Sequence[Change]) -> None:
        last: dict[TableRef, RowKey] = {change.table: change.key for change in changes}
        for root, key in last.items():
            for name in self._indexes.get(root, ()):
                self._sink.save_checkpoint(name, _encode(root, key))


def _encode(root: TableRef, key: RowKey) -> dict[str, Any]:
    """JSON naming its root too, so a checkpoint is never read against another table."""
    return {"root": [root.schema, root.name], "after": list(key)}


def _decode(root: TableRef, checkpoint: Any) -> RowKey | None:
    """The key of a checkpoint saved for `root`; None for none or another root's, both of which
    mean starting over (always safe)."""
    if isinstance(checkpoint, dict) and checkpoint.get("root") == [root.schema, root.name]:
        return tuple(checkpoint["after"])
    return None
