"""The live guard keeps exactly one live run: it launches, waits, backs off and clears stale runs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster import DagsterRunStatus as Status

from flusso_dagster.guard import STALE_AFTER_S, Backoff, build_live_guard, decide
from flusso_dagster.live import LIVE_JOB


@dg.op
def _noop() -> None:
    pass


@dg.job(name=LIVE_JOB)
def _live_job() -> None:
    _noop()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def _run(instance: dg.DagsterInstance, status: Status) -> dg.DagsterRun:
    return instance.create_run_for_job(job_def=_live_job, status=status)


def test_launches_the_first_live_run(instance: dg.DagsterInstance) -> None:
    decision = decide(instance, time.time())
    assert isinstance(decision, dg.RunRequest) and decision.run_key == "first"


@pytest.mark.parametrize("status", [Status.NOT_STARTED, Status.STARTING, Status.STARTED, Status.CANCELING])
def test_does_not_launch_while_a_live_run_is_active(instance: dg.DagsterInstance, status: Status) -> None:
    run = _run(instance, status)
    decision = decide(instance, time.time())
    assert isinstance(decision, dg.SkipReason) and run.run_id in (decision.skip_message or "")


def test_restarts_after_a_cancelled_run(instance: dg.DagsterInstance) -> None:
    run = _run(instance, Status.CANCELED)
    decision = decide(instance, time.time())
    assert isinstance(decision, dg.RunRequest) and decision.run_key == f"after-{run.run_id}"


def test_waits_out_the_backoff_after_a_failure(instance: dg.DagsterInstance) -> None:
    _run(instance, Status.FAILURE)
    decision = decide(instance, time.time(), Backoff(base_s=60.0))
    assert isinstance(decision, dg.SkipReason) and "next start in" in (decision.skip_message or "")


def test_restarts_once_the_backoff_has_passed(instance: dg.DagsterInstance) -> None:
    run = _run(instance, Status.FAILURE)
    decision = decide(instance, time.time() + 61.0, Backoff(base_s=60.0))
    assert isinstance(decision, dg.RunRequest) and decision.run_key == f"after-{run.run_id}"


def test_backoff_doubles_with_each_consecutive_failure() -> None:
    backoff = Backoff(base_s=10.0, max_s=100.0)
    assert [backoff.delay(n) for n in range(6)] == [0.0, 10.0, 20.0, 40.0, 80.0, 100.0]


def test_marks_a_silent_started_run_failed_and_replaces_it(instance: dg.DagsterInstance) -> None:
    run = _run(instance, Status.STARTED)
    decision = decide(instance, time.time() + STALE_AFTER_S + 60.0, Backoff(base_s=0.0))
    assert instance.get_run_by_id(run.run_id).status == Status.FAILURE
    assert isinstance(decision, dg.RunRequest) and decision.run_key == f"after-{run.run_id}"


def test_the_sensor_itself_evaluates_against_a_real_instance(instance: dg.DagsterInstance) -> None:
    sensor = build_live_guard(_live_job)
    first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert [request.run_key for request in first.run_requests] == ["first"]
    _run(instance, Status.STARTED)
    assert not sensor.evaluate_tick(dg.build_sensor_context(instance=instance)).run_requests
