"""Batch policy: defaults of the reference, and nonsense refused at construction."""

from __future__ import annotations

import pytest

from flusso_engine.policy import BACKFILL_BATCH, BatchPolicy


def test_defaults_to_256_changes_or_50_milliseconds() -> None:
    assert BatchPolicy() == BatchPolicy(max_changes=256, max_delay=0.05)


def test_a_live_batch_closes_soon_when_nothing_is_being_flushed_and_a_backfill_batch_on_count() -> None:
    assert BatchPolicy().idle_delay == 0.005
    assert BACKFILL_BATCH.idle_delay is None


def test_refuses_a_negative_idle_delay() -> None:
    with pytest.raises(ValueError, match="idle_delay"):
        BatchPolicy(idle_delay=-0.001)


def test_refuses_a_batch_of_fewer_than_one_change() -> None:
    with pytest.raises(ValueError, match="max_changes"):
        BatchPolicy(max_changes=0)


def test_refuses_a_negative_delay() -> None:
    with pytest.raises(ValueError, match="max_delay"):
        BatchPolicy(max_delay=-1)


def test_batch_policy_rejects_a_negative_number_of_batches_ahead() -> None:
    with pytest.raises(ValueError, match="ahead"):
        BatchPolicy(ahead=-1)
