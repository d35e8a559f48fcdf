"""When a caught-up flush becomes searchable: at once when it is isolated, else within a pause.

A flush makes documents durable; a refresh makes them searchable, and cuts a new segment on
every shard it touches. A live stream at a thousand changes a second catches up many times a
second, and refreshing on each of those kept the node so busy that flushes fell seconds behind
(bench B3: p50 7.3 s with a refresh per caught-up flush, 0.7 s without). Under that load a
refresh on a 2-core node took from half a second to several, and one taken by the flushing
thread held every later batch's flush and ack for that long. So:

- an isolated caught-up flush (none other within the period, none refreshed within it) is
  refreshed before it returns: a lone change is searchable as soon as it is acknowledged;
- under a steady stream, refreshes run on a thread of their own, each starting one pause after
  the previous one *ended*: every caught-up flush is searchable within a pause plus a refresh,
  slow refreshes never run back to back, and no flush waits for one;
- the pause is the period, but after a refresh slower than the period it is as long as that
  refresh took, so refreshes fill at most half of a saturated node's time, and searchability
  waits a little longer instead of every flush behind them (B3's slowest seconds showed 0.8-2 s
  of node refresh time per second, with flushes averaging 150-390 ms).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable


class Visibility:
    """Refreshes the indexes of caught-up flushes, at most once per `period` (0: every time), and
    no sooner after a slow refresh than it took."""

    def __init__(self, refresh: Callable[[list[str]], None], period: float) -> None:
        self._refresh = refresh
        self._period = period
        self._lock = threading.Lock()
        self._due: set[str] = set()
        self._ended = float("-inf")  # monotonic time the last refresh ended
        self._pause = period  # how long after it the next may start: the period, or its length
        self._asked = float("-inf")  # monotonic time of the last caught-up flush
        self._busy = False  # a refresh is running, or a timer is set to run one
        self._timer: threading.Timer | None = None
        self._closed = False

    def caught_up(self, indexes: Iterable[str]) -> None:
        """Make `indexes` searchable now if this flush is isolated, else from the refresh thread."""
        now = time.monotonic()
        with self._lock:
            self._due.update(indexes)
            isolated = now - self._asked >= self._period
            self._asked = now
            if self._busy or not self._due:
                return  # the refresh running or set takes these too, or arms the next one
            self._busy = True
            wait = self._ended + self._pause - now
            if not isolated or wait > 0:
                self._arm(max(wait, 0.0))
                return
        self._take()

    def close(self) -> None:
        """Refresh what is still due now rather than leave it to the index's own interval."""
        with self._lock:
            self._closed = True  # no refresh arms another from now on
            timer = self._timer
        if timer is not None:
            timer.cancel()
            timer.join()
        self._take()

    def _arm(self, wait: float) -> None:
        timer = threading.Timer(wait, self._take)
        timer.name = "flusso-refresh"
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _take(self) -> None:
        with self._lock:
            due, self._due = self._due, set()
        started = time.monotonic()
        try:
            if due:
                self._refresh(sorted(due))
        finally:
            with self._lock:
                self._ended = time.monotonic()
                if self._period:  # 0 asks for every caught-up flush refreshed at once, however slow
                    self._pause = max(self._period, self._ended - started)
                self._timer = None
                self._busy = bool(self._due)
                if self._busy and not self._closed:  # flushes came due while this one ran
                    self._arm(self._pause)
