"""Bulk requests leave while documents are still arriving, a bounded number at a time.

A request is handed to the pool as soon as it is full, so building documents (the engine),
encoding them (here) and indexing them (OpenSearch) overlap instead of taking turns, and a
flush only waits for the tail. At most `max_in_flight` requests are queued or running: when
that many are out, adding blocks until the oldest ends, which holds memory flat and slows the
producer to the node's pace. Sending before the flush is safe: nothing is acknowledged before
the flush, and external versions make each write's landing order irrelevant.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Executor, Future

from flusso_engine.sinks.opensearch.bulk import Action, BulkWriter, Chunker, Outcome


class BulkStream:
    def __init__(self, writer: BulkWriter, executor: Executor, chunker: Chunker, max_in_flight: int) -> None:
        self._writer = writer
        self._executor = executor
        self._chunker = chunker
        self._max_in_flight = max_in_flight
        self._in_flight: deque[Future[Outcome]] = deque()
        self._outcome = Outcome()
        self._failure: BaseException | None = None

    def extend(self, actions: Iterable[Action]) -> None:
        for full in self._chunker.extend(actions):
            self._submit(full)

    def drain(self) -> Outcome:
        """Send what is left, wait for every request, and return what they left undone.

        Raises the first request's failure, only after every request ended, so none is left
        running behind the error.
        """
        rest = self._chunker.take()
        if rest:
            self._submit(rest)
        while self._in_flight:
            self._collect(self._in_flight.popleft())
        outcome, failure = self._outcome, self._failure
        self._outcome, self._failure = Outcome(), None
        if failure is not None:
            raise failure
        return outcome

    def _submit(self, chunk: list[Action]) -> None:
        while len(self._in_flight) >= self._max_in_flight:
            self._collect(self._in_flight.popleft())
        if self._failure is None:  # the flush fails anyway: spare the node the rest
            self._in_flight.append(self._executor.submit(self._writer.deliver, chunk))

    def _collect(self, request: Future[Outcome]) -> None:
        try:
            self._outcome.extend(request.result())
        except BaseException as error:  # noqa: BLE001 - kept for drain() to raise
            self._failure = self._failure or error
