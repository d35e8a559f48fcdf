"""A `flusso run` killed half-way through its backfill resumes from its checkpoint: the next run
builds only the documents after it, and OpenSearch ends equal to a fresh build."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from opensearchpy import OpenSearch

from flusso_engine.backends import build_builder
from flusso_engine.checkpoints import resume_points
from flusso_engine.model import RowKey
from flusso_engine.schema import Config, load_config
from flusso_engine.schema.config import Index
from flusso_engine.sinks.opensearch import OpenSearchSettings, OpenSearchSink
from tests.e2e.compare import compare
from tests.e2e.test_sync import FlussoProcess, write_store

#: Enough rows for more than one backfill batch per root table, so a kill lands between two.
SIZE = 20_000


@pytest.fixture
def config_path(tmp_path: Path, pg_database_url: str, opensearch_url: str, index_prefix: str) -> Path:
    return write_store(tmp_path, pg_database_url, opensearch_url, index_prefix, SIZE)


@pytest.fixture
def sink(opensearch_url: str, index_prefix: str) -> Iterator[OpenSearchSink]:
    """A sink of the run's deployment, to read the checkpoints the run keeps there."""
    reader = OpenSearchSink(OpenSearchSettings(url=opensearch_url), index_prefix)
    yield reader
    reader.close()


def _documents_after(config: Config, index: Index, after: RowKey | None) -> int:
    """How many documents a backfill of `index` resuming after `after` builds (all without one)."""
    builder = build_builder(config, [index])
    try:
        before = 0 if after is None else len(builder.build_page(index.name, None, after, 0))
        return builder.document_count(index.name) - before
    finally:
        builder.close()


def _seeded_documents(log: str) -> Mapping[str, int]:
    """Documents each index's backfill built, from the run's `index seeded` lines."""
    return {name: int(count) for name, count in re.findall(r"index seeded index=(\w+) documents=(\d+)", log)}


def test_a_backfill_killed_half_way_resumes_after_its_last_checkpoint(
    tmp_path: Path, config_path: Path, slot_name: str, sink: OpenSearchSink, opensearch_client: OpenSearch, index_prefix: str
) -> None:
    config = load_config(config_path)
    indexes = config.enabled_indexes()
    specs = [index.spec() for index in indexes]
    flusso = FlussoProcess(config_path, slot_name, tmp_path / "flusso.log")
    flusso.start()
    deadline = time.monotonic() + 300
    while not resume_points(sink, specs):
        assert flusso.process is not None and flusso.process.poll() is None, flusso.log.read_text()
        assert time.monotonic() < deadline, "no checkpoint was saved"
        time.sleep(0.05)
    flusso.kill()
    points = resume_points(sink, specs)  # read after the kill: the last one saved

    resumed = subprocess.run([*flusso.argv, "--until-caught-up"], capture_output=True, text=True, timeout=600)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    totals = {index.name: _documents_after(config, index, None) for index in indexes}
    expected = {index.name: _documents_after(config, index, points.get(index.root)) for index in indexes}
    built = _seeded_documents(resumed.stderr)
    assert built == expected
    assert any(built[index.name] < totals[index.name] / 2 for index in indexes if index.root in points)
    differences = compare(config, opensearch_client, index_prefix)
    assert not any(differences.values()), {name: d for name, d in differences.items() if d}
