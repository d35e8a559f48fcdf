"""The bounded in-process channel between the capture thread and the worker.

Built for throughput with one producer and one consumer: a deque under one lock, and wake-ups
only when they can make progress. The consumer is woken when enough changes are waiting to
complete its batch (or on the first change, or on close), not on every put; the producer is woken
when a take made room. So a busy pipeline costs a lock round per change and a thread switch per
batch, not a thread switch per change.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from flusso_engine.errors import QueueClosed
from flusso_engine.model import Change


class ChannelQueue:
    """A bounded FIFO of changes; `put` blocks while full, so a slow sink slows the capture."""

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"queue capacity must be at least 1, got {capacity}")
        self._capacity = capacity
        self._items: deque[Change] = deque()
        self._lock = threading.Lock()
        self._readable = threading.Condition(self._lock)
        self._writable = threading.Condition(self._lock)
        self._closed = False
        #: How many waiting changes would satisfy the blocked taker; 0 when nobody waits to take.
        self._wanted = 0
        self._putter_waiting = False

    def put(self, change: Change) -> None:
        with self._lock:
            items = self._items
            while len(items) >= self._capacity and not self._closed:
                self._putter_waiting = True
                self._writable.wait()
            if self._closed:
                raise QueueClosed("the queue is closed: the run is stopping")
            items.append(change)
            if self._wanted and len(items) >= self._wanted:
                self._wanted = 0
                self._readable.notify()

    def take(
        self, max_count: int, max_delay: float, min_delay: float | None = None, enough: Callable[[], bool] | None = None
    ) -> list[Change]:
        with self._lock:
            items = self._items
            while not items:
                if self._closed:
                    return []
                self._wanted = 1
                self._readable.wait()
            batch: list[Change] = []
            first = time.monotonic()
            deadline = first + max_delay
            # From this moment on `enough` is asked; without a min_delay it never is.
            asking = first + min_delay if enough is not None and min_delay is not None else None
            while True:
                self._drain_into(batch, max_count - len(batch))
                missing = max_count - len(batch)
                if missing == 0 or self._closed:
                    break
                now = time.monotonic()
                if now >= deadline:
                    break
                wait = deadline - now
                if asking is not None and enough is not None:
                    if now < asking:
                        wait = asking - now  # wake up then to ask
                    elif enough():
                        break
                # Never want more than fit: a full queue must wake us, or its blocked producer
                # and this taker would both sleep until the deadline.
                self._wanted = min(missing, self._capacity)
                self._readable.wait(wait)
                self._wanted = 0
            return batch

    def nudge(self) -> None:
        """Wake a taker gathering a batch, so that it asks `enough` again."""
        with self._lock:
            self._readable.notify()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._readable.notify_all()
            self._writable.notify_all()

    def empty(self) -> bool:
        return not self._items

    def _drain_into(self, batch: list[Change], count: int) -> None:
        """Move up to `count` changes to `batch` and wake a blocked producer; caller holds the lock."""
        items = self._items
        if not items:
            return
        if len(items) <= count:
            batch.extend(items)
            items.clear()
        else:
            popleft = items.popleft
            batch.extend([popleft() for _ in range(count)])
        if self._putter_waiting:
            self._putter_waiting = False
            self._writable.notify()
