"""A flush's segment calls back once every one of its bulk requests ended, however they end."""

from __future__ import annotations

from concurrent.futures import Future

from flusso_engine.sinks.opensearch.bulk import Outcome
from flusso_engine.sinks.opensearch.stream import Segment


def test_a_segment_calls_back_once_its_last_request_ended() -> None:
    first, last = Future[Outcome](), Future[Outcome]()
    calls: list[str] = []
    Segment([first, last]).add_done_callback(lambda: calls.append("done"))

    first.set_result(Outcome())
    assert calls == []
    last.set_exception(ConnectionError("node gone"))
    assert calls == ["done"]


def test_a_segment_without_requests_calls_back_at_once() -> None:
    calls: list[str] = []
    Segment().add_done_callback(lambda: calls.append("done"))

    assert calls == ["done"]
