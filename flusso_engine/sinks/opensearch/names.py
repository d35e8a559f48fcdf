"""Every OpenSearch name the sink uses, derived in one place from the deployment prefix.

    {prefix}{name}_{hash}_{n}   a physical index: generation n of schema version `hash`
    {prefix}{name}_{hash}_{n}_write  alias: the only name the sink writes generation n through
    {prefix}{name}_{hash}       alias: the read name for one schema version
    {prefix}{name}              alias: the convenience read name, always on a seeded generation
    {prefix}flusso_meta         the sink's own state (seeded, generations, checkpoint)

Parsing is exact (hash without underscores, number at the end), so listing `{prefix}{name}_*`
never mistakes another index or another prefix's index for one of ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Generation:
    """One physical index of a logical index: its schema version and its never-reused number."""

    hash: str
    number: int


@dataclass(frozen=True, slots=True)
class Names:
    prefix: str

    @property
    def meta_index(self) -> str:
        return f"{self.prefix}flusso_meta"

    def convenience_alias(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def hash_alias(self, name: str, content_hash: str) -> str:
        return f"{self.prefix}{name}_{content_hash}"

    def physical(self, name: str, generation: Generation) -> str:
        return f"{self.hash_alias(name, generation.hash)}_{generation.number}"

    def write_alias(self, name: str, generation: Generation) -> str:
        """Created with its generation and deleted with it, so a bulk write through it with
        `require_alias` fails instead of auto-creating a deleted generation with a dynamic mapping."""
        return f"{self.physical(name, generation)}_write"

    def pattern(self, name: str) -> str:
        """A wildcard covering every generation of `name` (and possibly more: parse to filter)."""
        return f"{self.prefix}{name}_*"

    def parse(self, name: str, index: str) -> Generation | None:
        match = re.fullmatch(rf"{re.escape(self.prefix + name)}_([0-9a-z]+)_([0-9]+)", index)
        return Generation(match[1], int(match[2])) if match else None
