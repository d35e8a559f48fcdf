"""The Queue edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from flusso_engine.model import Change


class Queue(Protocol):
    """A bounded FIFO of changes between the capture thread and the worker."""

    def put(self, change: Change) -> None:
        """Enqueue; blocks while the queue is full (back-pressure). Raises QueueClosed."""
        ...

    def take(
        self, max_count: int, max_delay: float, min_delay: float | None = None, enough: Callable[[], bool] | None = None
    ) -> list[Change]:
        """A batch: blocks for the first change, then gathers until `max_count` changes,
        `max_delay` seconds after the first, or, from `min_delay` seconds after the first, until
        `enough()` says so (asked then, and again after each wake-up). Returns [] once closed and
        drained."""
        ...

    def nudge(self) -> None:
        """Wake a `take` that is gathering, so that it asks its `enough` again."""
        ...

    def close(self) -> None:
        """No more puts; takers drain what is left."""
        ...

    def empty(self) -> bool:
        """Whether nothing is waiting (the caught-up signal)."""
        ...
