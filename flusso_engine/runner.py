"""Running an Engine on a thread of its own, for callers whose main thread has other duties.

Signals (Ctrl-C, Dagster's termination) are delivered to the main thread only. Keeping the
engine off it lets the main thread report progress, watch for "caught up", and turn a signal
into a graceful `stop` instead of an exception thrown into the middle of a batch.
"""

from __future__ import annotations

import threading

from flusso_engine.engine import Engine

#: How long a stopping engine gets to finish (flush and confirm) its batch in flight.
STOP_GRACE_SECONDS = 30.0


class EngineThread:
    """`start`, then `wait` in slices while doing other work; `stop` ends it gracefully."""

    def __init__(self, engine: Engine, *, live: bool = True) -> None:
        self._engine = engine
        self._live = live
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="flusso-engine", daemon=True)

    def _run(self) -> None:
        try:
            self._engine.run(live=self._live)
        except BaseException as error:  # handed to whoever waits, on their thread
            self._failure = error

    def start(self) -> EngineThread:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True once the engine has ended. Raises what stopped it."""
        self._thread.join(seconds)
        if self._thread.is_alive():
            return False
        if self._failure is not None:
            raise self._failure
        return True

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop gracefully: the batch in flight is flushed and confirmed, nothing else is."""
        self._engine.stop()
        self._thread.join(grace)
