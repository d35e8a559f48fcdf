"""How the online findings print: per index (the source first), errors before warnings; or JSON.

Only the redacted display URL is ever shown; findings never contain secrets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from flusso_engine.preflight.diagnostics import Diagnostic
from flusso_engine.schema import report
from flusso_engine.schema.config import Config

SOURCE_GROUP = "source"


def grouped(config: Config, diagnostics: Sequence[Diagnostic]) -> dict[str, list[Diagnostic]]:
    """Source-wide findings, then each enabled index in config order; errors first in each."""
    groups: dict[str, list[Diagnostic]] = {SOURCE_GROUP: []}
    groups.update({index.name: [] for index in config.enabled_indexes()})
    for diagnostic in diagnostics:
        groups.setdefault(diagnostic.index or SOURCE_GROUP, []).append(diagnostic)
    return {name: sorted(found, key=lambda d: not d.is_error) for name, found in groups.items()}


def online_summary(config: Config, diagnostics: Sequence[Diagnostic], *, slot: str, publication: str) -> dict[str, Any]:
    errors = sum(d.is_error for d in diagnostics)
    return {
        "source": config.source.display_url, "slot": slot, "publication": publication,
        "ok": errors == 0, "errors": errors, "warnings": len(diagnostics) - errors,
        "diagnostics": [d.as_json() for found in grouped(config, diagnostics).values() for d in found],
    }


def render_json(config: Config, diagnostics: Sequence[Diagnostic], *, slot: str, publication: str) -> str:
    data = report.summary(config)
    data["online"] = online_summary(config, diagnostics, slot=slot, publication=publication)
    return json.dumps(data, indent=2, default=str)


def render_human(config: Config, diagnostics: Sequence[Diagnostic], *, slot: str, publication: str) -> str:
    lines = [f"online  postgres {config.source.display_url} (slot {slot}, publication {publication})"]
    for group, found in grouped(config, diagnostics).items():
        title = group if group == SOURCE_GROUP else f"index {group}"
        lines.append(f"{title}: ok" if not found else f"{title}:")
        for diagnostic in found:
            where = f"{diagnostic.path}: " if diagnostic.path else ""
            lines.append(f"  {diagnostic.severity:<8}{where}{diagnostic.message}")
            lines.append(f"  {'':<8}fix: {diagnostic.fix}")
    errors = sum(d.is_error for d in diagnostics)
    verdict = "failed" if errors else "passed"
    lines.append(f"check   {verdict}: {errors} error(s), {len(diagnostics) - errors} warning(s)")
    return "\n".join(lines)
