"""A sink that hands every call to another: the base of decorators that change one behaviour.

Front ends decorate the configured sink (count what it wrote, answer `is_seeded` differently)
without knowing which sink it is; subclasses override only the call they change.
"""

from __future__ import annotations

from collections.abc import Iterable

from flusso_engine.model import Document, FlushReport, IndexSpec
from flusso_engine.sinks.protocol import Sink


class ForwardingSink:
    def __init__(self, inner: Sink) -> None:
        self.inner = inner
        self.persistent = inner.persistent

    def ensure_index(self, index: IndexSpec) -> None:
        self.inner.ensure_index(index)

    def is_seeded(self, index: str) -> bool:
        return self.inner.is_seeded(index)

    def mark_seeded(self, index: str) -> None:
        self.inner.mark_seeded(index)

    def write(self, documents: Iterable[Document]) -> None:
        self.inner.write(documents)

    def flush(self, caught_up: bool) -> FlushReport:
        return self.inner.flush(caught_up)

    def reindex(self, index: str) -> None:
        self.inner.reindex(index)

    def close(self) -> None:
        self.inner.close()
