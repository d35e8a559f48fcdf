"""A seeded source of pseudo-random choices, shared by the generator and the load."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


class Draw:
    """Deterministic choices for one named stream (a table, a load run).

    Built on `random()` alone: `randrange`, `choice` and `sample` spend most of their time in
    Python-level argument checks, which dominated the generator's profile. Each stream is seeded
    by name so adding rows to one table never shifts the values of another.
    """

    __slots__ = ("_generator", "_random")

    def __init__(self, seed: int, stream: str) -> None:
        # A string seed is hashed with SHA-512 by `random`, so it is stable across runs and processes.
        self._generator = random.Random(f"{seed}:{stream}")
        self._random = self._generator.random

    def below(self, n: int) -> int:
        """An int in [0, n)."""
        return int(self._random() * n)

    def between(self, low: int, high: int) -> int:
        """An int in [low, high]."""
        return low + int(self._random() * (high - low + 1))

    def pick(self, options: Sequence[T]) -> T:
        return options[int(self._random() * len(options))]

    def chance(self, probability: float) -> bool:
        return self._random() < probability

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._generator.getrandbits(128), version=4))
