"""Reconnecting after a lost connection: jittered, bounded, and cut short by stop().

A dropped connection (failover, a terminated walsender, a network blip) is routine for a
long-running capture, so it reconnects without raising; a failure that persists through
`max_attempts` tries in a row is not routine and becomes a CaptureError naming the last cause.
"""

from __future__ import annotations

import logging
import random
import threading

from flusso_engine.errors import CaptureError

logger = logging.getLogger(__name__)


class Reconnects:
    def __init__(
        self, what: str, stop: threading.Event, max_attempts: int, base: float = 0.2, cap: float = 10.0
    ) -> None:
        self._what = what
        self._stop = stop
        self._max_attempts = max_attempts
        self._base = base
        self._cap = cap
        self._failures = 0

    def succeeded(self) -> None:
        self._failures = 0

    def failed(self, error: BaseException) -> None:
        """Wait before the next attempt ("full jitter"), or raise when attempts are used up."""
        self._failures += 1
        if self._failures > self._max_attempts:
            raise CaptureError(
                f"{self._what} failed {self._failures} times in a row; last error: {error}", transient=True
            ) from error
        delay = random.uniform(0, min(self._cap, self._base * 2 ** (self._failures - 1)))
        logger.warning(
            "%s lost (%s); reconnecting in %.2fs (attempt %d of %d)",
            self._what, str(error).strip(), delay, self._failures, self._max_attempts,
        )
        self._stop.wait(delay)
