"""One finding of the online check: what is wrong, where, and the exact fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """`index` is None for what concerns the whole source (server settings, role, publication).

    `path` is the field's document path (`items.product.sku`) or the schema key (`primary_key`)
    the finding is about, empty when it concerns the index or the source as a whole.
    """

    severity: Severity
    index: str | None
    path: str
    message: str
    fix: str

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def error(index: str | None, path: str, message: str, fix: str) -> Diagnostic:
    return Diagnostic("error", index, path, message, fix)


def warning(index: str | None, path: str, message: str, fix: str) -> Diagnostic:
    return Diagnostic("warning", index, path, message, fix)
