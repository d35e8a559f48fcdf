"""Backfill checkpoints through the composing sinks: kept where documents are kept."""

from __future__ import annotations

import io

from flusso_engine.sinks.fanout import FanOutSink
from flusso_engine.sinks.forwarding import ForwardingSink
from flusso_engine.sinks.stdout import StdoutSink

from tests.engine.fakes import Journal, RecordingSink

SAVED = {"after": ["41"]}


def test_stdout_keeps_no_checkpoint() -> None:
    sink = StdoutSink(io.BytesIO())

    sink.save_checkpoint("users", SAVED)

    assert sink.checkpoint("users") is None


def test_fan_out_saves_a_checkpoint_to_every_persistent_sink() -> None:
    first, second = RecordingSink(Journal()), RecordingSink(Journal())
    fanout = FanOutSink([first, StdoutSink(io.BytesIO()), second])

    fanout.save_checkpoint("users", SAVED)

    assert first.checkpoint("users") == second.checkpoint("users") == SAVED
    assert fanout.checkpoint("users") == SAVED


def test_fan_out_has_no_checkpoint_when_its_persistent_sinks_disagree() -> None:
    behind = RecordingSink(Journal(), checkpoints={"users": {"after": ["7"]}})
    fanout = FanOutSink([RecordingSink(Journal(), checkpoints={"users": SAVED}), behind])

    assert fanout.checkpoint("users") is None


def test_fan_out_without_persistent_sinks_has_no_checkpoint() -> None:
    fanout = FanOutSink([StdoutSink(io.BytesIO())])

    fanout.save_checkpoint("users", SAVED)

    assert fanout.checkpoint("users") is None


def test_a_forwarding_sink_keeps_checkpoints_in_the_sink_it_wraps() -> None:
    inner = RecordingSink(Journal())
    forwarding = ForwardingSink(inner)

    forwarding.save_checkpoint("users", SAVED)

    assert inner.checkpoint("users") == forwarding.checkpoint("users") == SAVED
