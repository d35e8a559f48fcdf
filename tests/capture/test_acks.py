"""The ack tracker: the slot position that is safe to report, given what was confirmed."""

from __future__ import annotations

from flusso_engine.capture.acks import UNTRACKED, AckTracker
from flusso_engine.model import Ack


def test_in_order_confirms_advance_to_the_last_commit() -> None:
    tracker = AckTracker()
    acks = [ack for lsn in (100, 200) for ack in tracker.register(lsn, 1)]

    tracker.confirm(acks)

    assert tracker.flush_position() == 200


def test_out_of_order_confirm_waits_for_the_gap() -> None:
    tracker = AckTracker()
    first, second, third = (ack for lsn in (100, 200, 300) for ack in tracker.register(lsn, 1))

    tracker.confirm([third, first])
    assert tracker.flush_position() == 100

    tracker.confirm([second])
    assert tracker.flush_position() == 300


def test_part_of_a_transaction_confirmed_does_not_release_it() -> None:
    tracker = AckTracker()
    [before] = tracker.register(100, 1)
    first, _second = tracker.register(200, 2)

    tracker.confirm([before, first])

    assert tracker.flush_position() == 100


def test_nothing_in_flight_releases_the_last_position_seen() -> None:
    tracker = AckTracker()
    [ack] = tracker.register(100, 1)
    tracker.observe(500)
    assert tracker.flush_position() == 0

    tracker.confirm([ack])

    assert tracker.flush_position() == 500


def test_untracked_and_repeated_acks_are_ignored() -> None:
    tracker = AckTracker()
    [ack] = tracker.register(100, 1)
    tracker.confirm([ack, ack, Ack(UNTRACKED, 900), Ack(42, 900)])

    assert tracker.flush_position() == 100
