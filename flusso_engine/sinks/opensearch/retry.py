"""Which OpenSearch failures are worth retrying, and how long to wait before the next try.

A dropped connection, an overloaded node (429) or a gateway/unavailable answer (502-504) says
nothing about the request itself, so the same request is sent again after a jittered,
exponentially growing pause (jitter keeps parallel writers from retrying in lockstep); the
server's Retry-After wins when it asks for longer. Any other error is permanent at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import TransportError

from flusso_engine.errors import SinkError

T = TypeVar("T")

TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with "equal jitter": half the step is fixed, half is random."""

    max_retries: int
    base_secs: float = 0.2
    cap_secs: float = 30.0

    def pause(self, attempt: int, retry_after: float | None = None) -> float:
        step = min(self.cap_secs, self.base_secs * 2**attempt)
        pause = step / 2 + random.uniform(0, step / 2)
        return max(pause, min(retry_after or 0.0, self.cap_secs))

    def sleep(self, attempt: int, retry_after: float | None = None) -> None:
        time.sleep(self.pause(attempt, retry_after))


def retry_after_secs(value: str | None) -> float | None:
    """The Retry-After header in seconds; the HTTP-date form is ignored (OpenSearch sends seconds)."""
    try:
        return float(value) if value else None
    except ValueError:
        return None


def is_transient(error: Exception) -> bool:
    if isinstance(error, TransportConnectionError):  # also covers timeouts
        return True
    return isinstance(error, TransportError) and error.status_code in TRANSIENT_STATUSES


def describe(error: Exception) -> str:
    """A one-line account of a client error that never includes credentials or request bodies."""
    if isinstance(error, TransportError) and not isinstance(error, TransportConnectionError):
        return f"HTTP {error.status_code} {error.error}"
    return f"{type(error).__name__}: {error}"


def call_with_retries(call: Callable[[], T], backoff: Backoff, what: str) -> T:
    """Run an idempotent administrative call, retrying transient failures; SinkError otherwise."""
    attempt = 0
    while True:
        try:
            return call()
        except (TransportError, TransportConnectionError) as error:
            if not is_transient(error) or attempt >= backoff.max_retries:
                raise SinkError(f"OpenSearch: {what} failed: {describe(error)}", transient=is_transient(error)) from error
            backoff.sleep(attempt)
            attempt += 1
