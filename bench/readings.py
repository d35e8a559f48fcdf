"""Readings of counters taken at two moments, and what grew in between."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

Counters = TypeVar("Counters", bound="Readings")


class Readings:
    """A dataclass of counters (each a number, or readings again) whose difference is taken field by field:
    a reading at the end of a stretch minus one at its start is what the stretch spent."""

    def __sub__(self: Counters, earlier: Counters) -> Counters:
        values: list[Any] = [getattr(self, f.name) - getattr(earlier, f.name) for f in fields(self)]  # type: ignore[arg-type]
        return type(self)(*values)
