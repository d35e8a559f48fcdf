"""Ack tracking: which commit position the slot may advance to, given what is confirmed.

Confirms arrive in batches, out of order and from another thread; the slot must only move to a
commit whose every change is durable downstream. Changes of one transaction share its commit
LSN and get consecutive sequence numbers, so the safe position is the LSN of the last fully
confirmed transaction in the contiguous confirmed prefix. With nothing in flight the slot may
move further, to the last position the stream has shown us (a commit that carried no change
we follow, or a keepalive), so unrelated write traffic never holds WAL on the server.
"""

from __future__ import annotations

import threading
from collections import deque
from itertools import repeat
from collections.abc import Sequence

from flusso_engine.model import Ack, Lsn

#: The sequence number of acks that confirm nothing: snapshot rows, read outside the stream.
UNTRACKED = 0


class AckTracker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 1
        self._front = 1  # the lowest sequence number not yet released
        self._in_flight: deque[Lsn] = deque()  # LSNs of seqs front, front+1, ...
        self._confirmed_ahead: set[int] = set()
        self._safe: Lsn = 0
        self._seen: Lsn = 0

    def register(self, lsn: Lsn, count: int) -> list[Ack]:
        """New acks for `count` changes committed at `lsn`: one transaction's, taken at once so
        that a transaction of a thousand rows costs one lock round, not a thousand."""
        with self._lock:
            first = self._next
            self._next += count
            self._in_flight.extend(repeat(lsn, count))
        return [Ack(seq, lsn) for seq in range(first, first + count)]

    def confirm(self, acks: Sequence[Ack]) -> None:
        with self._lock:
            front, end = self._front, self._next
            ahead = self._confirmed_ahead
            for ack in acks:
                if front <= ack.seq < end:
                    ahead.add(ack.seq)
            in_flight = self._in_flight
            while front in ahead:
                ahead.discard(front)
                lsn = in_flight.popleft()
                front += 1
                if not in_flight or in_flight[0] != lsn:  # the transaction is complete
                    self._safe = max(self._safe, lsn)
            self._front = front

    def observe(self, lsn: Lsn) -> None:
        """The stream has shown everything up to `lsn` (a commit's end, or a keepalive)."""
        with self._lock:
            self._seen = max(self._seen, lsn)

    def flush_position(self) -> Lsn:
        """How far the slot may advance now."""
        with self._lock:
            if self._in_flight:
                return self._safe
            return max(self._safe, self._seen)
