"""Slot lag in bytes and in time, sampled out of band (flusso_engine/capture/position.py).

Time lag is how long ago the server's head was where the slot's confirmed position is now: each
sample records when its head LSN was seen, so the confirmed LSN maps back to a moment.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field

from flusso_engine.capture.position import slot_position
from flusso_engine.model import Lsn


@dataclass
class LagSampler:
    dsn: str
    slot: str
    _times: list[float] = field(default_factory=list)
    _heads: list[Lsn] = field(default_factory=list)

    def sample(self) -> tuple[float, int]:
        """(seconds, bytes) the confirmed position trails the head by, now."""
        position = slot_position(self.dsn, self.slot)
        now = time.monotonic()
        self._times.append(now)
        self._heads.append(position.head)
        confirmed = position.confirmed or 0
        if confirmed >= position.head:
            return 0.0, 0
        seen = bisect.bisect_left(self._heads, confirmed)  # the first head at or past confirmed
        return now - self._times[seen], position.lag_bytes or 0

    def wait_caught_up(self, timeout: float) -> bool:
        """Wait until the slot confirmed the head as of now (a flusso run's first catch-up)."""
        target = slot_position(self.dsn, self.slot).head
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            confirmed = slot_position(self.dsn, self.slot).confirmed
            if confirmed is not None and confirmed >= target:
                return True
            time.sleep(0.5)
        return False
