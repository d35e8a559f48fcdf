"""Helpers for fault tests: a demo config with run options of its own, and the slot's position."""

from __future__ import annotations

from pathlib import Path

from flusso_engine.capture.position import slot_position
from flusso_engine.model import Lsn
from tests.conftest import write_demo_config


def fault_config(path: Path, database_url: str, opensearch_url: str, prefix: str, *, top: str = "", sink: str = "") -> Path:
    """The demo config with extra top-level keys (`top`) and [sinks.search] keys (`sink`)."""
    write_demo_config(path, database_url, opensearch_url, prefix)
    text = path.read_text().replace("\n[source]", f"{top}\n[source]", 1).replace('refresh_interval = "1s"\n', f'refresh_interval = "1s"\n{sink}', 1)
    path.write_text(text)
    return path


def confirmed(database_url: str, slot: str) -> Lsn:
    position = slot_position(database_url, slot).confirmed
    assert position is not None, f"slot {slot} does not exist"
    return position
