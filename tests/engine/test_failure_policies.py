"""Rejected documents: `stop` fails the run unconfirmed, `skip` quarantines and goes on."""

from __future__ import annotations

import pytest

from flusso_engine.engine import Engine
from flusso_engine.errors import DocumentsRejected
from flusso_engine.policy import BatchPolicy, FailurePolicies, FailurePolicy

from tests.engine.fakes import (
    InMemoryBuilder,
    Journal,
    RecordingObserver,
    RecordingSink,
    ScriptedCapture,
    changes,
)

ONE_BATCH = BatchPolicy(max_changes=256, max_delay=10.0, idle_delay=None)


def run(
    capture: ScriptedCapture, journal: Journal, failures: FailurePolicies, observer: RecordingObserver
) -> None:
    sink = RecordingSink(journal, reject={"1", "2"})
    Engine(
        capture,
        InMemoryBuilder(journal),
        sink,
        batch=ONE_BATCH,
        failures=failures,
        observer=observer,
        skip_backfill=True,
    ).run()


def test_failure_policies_resolve_the_override_then_the_default() -> None:
    policies = FailurePolicies(FailurePolicy.STOP, {"analytics": FailurePolicy.SKIP})

    assert policies.resolve("analytics") is FailurePolicy.SKIP
    assert policies.resolve("users") is FailurePolicy.STOP


def test_stop_policy_fails_the_run_and_confirms_nothing() -> None:
    journal, observer = Journal(), RecordingObserver()
    capture = ScriptedCapture(journal, changes(1, 3))

    with pytest.raises(DocumentsRejected) as raised:
        run(capture, journal, FailurePolicies(), observer)

    assert raised.value.count == 1 and "users/1" in raised.value.example
    assert capture.confirmed == []
    assert observer.named("document_quarantined") == []


def test_skip_policy_quarantines_rejected_documents_and_confirms_the_batch() -> None:
    journal, observer = Journal(), RecordingObserver()
    capture = ScriptedCapture(journal, changes(1, 2, 3))

    run(capture, journal, FailurePolicies(FailurePolicy.SKIP), observer)

    assert capture.confirmed_seqs == [0, 1, 2]
    assert observer.named("document_quarantined") == [
        ("users", "1", "mapper_parsing_exception"),
        ("users", "2", "mapper_parsing_exception"),
    ]


def test_a_per_index_stop_override_beats_a_global_skip() -> None:
    journal, observer = Journal(), RecordingObserver()
    capture = ScriptedCapture(journal, changes(1))
    failures = FailurePolicies(FailurePolicy.SKIP, {"users": FailurePolicy.STOP})

    with pytest.raises(DocumentsRejected):
        run(capture, journal, failures, observer)

    assert capture.confirmed == []
    assert observer.named("document_quarantined") == []
