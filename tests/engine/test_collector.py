"""The garbage collector of a process that runs an engine."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from flusso_engine.collector import YOUNG_THRESHOLD, settle_for_streaming


@pytest.fixture(autouse=True)
def _restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_settling_freezes_the_objects_that_live_as_long_as_the_process() -> None:
    settle_for_streaming()
    assert gc.get_freeze_count() > 0


def test_settling_collects_young_objects_less_often_and_keeps_the_older_ratios() -> None:
    _, middle, old = gc.get_threshold()
    settle_for_streaming()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, middle, old)
