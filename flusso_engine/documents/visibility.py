"""Waiting until the transactions a batch came from are visible to the builder's reads.

A committing backend writes and flushes its commit record first and only then becomes visible
to other snapshots; the walsender may decode and send the transaction in between. A change
resolved and built at once could then read the rows as they were before it, while its document
carries a version at or past the change's LSN, and its ack is confirmed after the flush: the
document would stay stale until something else touched it. Under load this window is long
enough for the e2e specs to hit it. So before reading rows for live changes, the builder waits
until each of their transactions is visible in a fresh snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from flusso_engine.documents.source import SourceConnection
from flusso_engine.errors import BuildError

#: pgoutput gives 32-bit transaction ids; a snapshot's xmax is a full 64-bit id assigned after
#: every transaction we were sent, so its epoch (or the one before, across a wraparound) is theirs.
_ALL_VISIBLE = """
WITH s AS (SELECT pg_current_snapshot() AS snap),
     e AS (SELECT snap, pg_snapshot_xmax(snap)::text::bigint AS xmax FROM s),
     f AS (SELECT snap, xmax, ((xmax >> 32) << 32) + x AS full_id FROM e, unnest(%s::bigint[]) AS x)
SELECT coalesce(bool_and(pg_visible_in_snapshot(
    (CASE WHEN full_id >= xmax THEN full_id - 4294967296 ELSE full_id END)::text::xid8, snap)), true)
FROM f
"""

#: How long a transaction may stay committed-but-invisible before the batch is retried instead.
WAIT_SECONDS = 10.0
POLL_SECONDS = 0.002


def await_visible(source: SourceConnection, xids: Collection[int]) -> None:
    """Return once every transaction in `xids` is visible to a new snapshot of `source`."""
    if not xids:
        return
    wanted = sorted(xids)
    deadline = time.monotonic() + WAIT_SECONDS
    while not source.rows(_ALL_VISIBLE, [wanted])[0][0]:
        if time.monotonic() >= deadline:
            error = BuildError(f"transactions {wanted[:5]} stayed invisible for {WAIT_SECONDS:g} s after their commit")
            error.transient = True
            raise error
        time.sleep(POLL_SECONDS)
