"""What a measured stretch spent: a reading at its end minus one at its start."""

from __future__ import annotations

from bench.node import NodeWork
from bench.seed import Reading
from bench.usage import Cpu


def test_a_difference_of_readings_is_taken_field_by_field() -> None:
    assert Cpu(3.0, 2.5, 10.0) - Cpu(1.0, 0.5, 4.0) == Cpu(2.0, 2.0, 6.0)


def test_readings_nested_in_a_reading_are_subtracted_as_readings() -> None:
    start = Reading(1.0, Cpu(1.0, 1.0, 1.0), NodeWork(10, 0, 0, 0, 1, 2, 0))
    end = Reading(4.0, Cpu(2.0, 3.0, 9.0), NodeWork(70, 5, 0, 0, 2, 3, 0))
    assert end - start == Reading(3.0, Cpu(1.0, 2.0, 8.0), NodeWork(60, 5, 0, 0, 1, 1, 0))
