"""Bulk requests leave while documents are still arriving, a bounded number at a time.

A request is handed to the pool as soon as it is full, so building documents (the engine),
encoding them (here) and indexing them (OpenSearch) overlap instead of taking turns. At most
`max_in_flight` requests are queued or running: when that many are out, adding blocks until the
oldest ends, which holds memory flat and slows the producer to the node's pace. Sending before
the flush is safe: nothing is acknowledged before the flush completes, and external versions
make each write's landing order irrelevant.

A flush seals the requests sent so far into a `Segment` and sends the partial last one; the
documents written next go into the next segment at once, while the sealed one's tail is still
being indexed. So a batch boundary costs the node no idle time, and a flush waits only for
its own segment.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field

from flusso_engine.sinks.opensearch.bulk import Action, BulkWriter, Chunker, Outcome, plan_chunks
from flusso_engine.sinks.protocol import when_all_done


@dataclass(slots=True)
class Segment:
    """The requests of one flush, and the failure that kept some of them from being sent."""

    requests: list[Future[Outcome]] = field(default_factory=list)
    unsent: BaseException | None = None

    def done(self) -> bool:
        return all(request.done() for request in self.requests)

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        """Call `callback` once every request of the (sealed) segment ended."""
        when_all_done(self.requests, callback)


class BulkStream:
    def __init__(self, writer: BulkWriter, executor: Executor, chunker: Chunker, max_in_flight: int) -> None:
        self._writer = writer
        self._executor = executor
        self._chunker = chunker
        self._max_in_flight = max_in_flight
        self._in_flight: deque[Future[Outcome]] = deque()
        self._segment = Segment()
        self._failure: BaseException | None = None  # a request seen failing since the last seal

    def extend(self, actions: Iterable[Action]) -> None:
        for full in self._chunker.extend(actions):
            self._submit(full)

    def seal(self) -> Segment:
        """Send what is left and close the segment of the flush under way; later actions start
        the next one."""
        rest = self._chunker.take()
        if rest:
            self._submit(rest)
        segment, self._segment, self._failure = self._segment, Segment(), None
        return segment

    def wait(self, segment: Segment) -> Outcome:
        """Wait for every request of `segment` and return what they left undone.

        Raises the first request's failure only after every request ended, so none is left
        running behind the error.
        """
        outcome = Outcome()
        failure = segment.unsent
        for request in segment.requests:
            try:
                outcome.extend(request.result())
            except BaseException as error:  # noqa: BLE001 - raised once all ended
                failure = failure or error
        if failure is not None:
            raise failure
        return outcome

    def send_now(self, actions: Iterable[Action]) -> Outcome:
        """Send `actions` in a segment of their own and wait for them: for what a flush must
        resend before it can report, without touching the segment being written."""
        chunks = plan_chunks(actions, self._chunker.max_docs, self._chunker.max_bytes)
        return self.wait(Segment([self._executor.submit(self._writer.deliver, chunk) for chunk in chunks]))

    def _submit(self, chunk: list[Action]) -> None:
        while len(self._in_flight) >= self._max_in_flight:
            error = self._in_flight.popleft().exception()
            self._failure = self._failure or error
        if self._failure is not None:  # this flush fails anyway: spare the node the rest
            self._segment.unsent = self._segment.unsent or self._failure
            return
        request = self._executor.submit(self._writer.deliver, chunk)
        self._in_flight.append(request)
        self._segment.requests.append(request)
