"""The sensor that keeps exactly one live run alive.

Each tick decides from the instance's run records alone: skip while a live run is queued or
running; fail a STARTED run whose worker died (no event for STALE_AFTER_S: the local launcher
cannot tell); after a failure, wait out an exponential backoff before launching again. A
cancelled run is restarted too: to stop live sync on purpose, stop this sensor.
The run queue's tag limit and the engine's advisory lock are the second and third guards.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import dagster as dg
from dagster import DagsterRunStatus as Status

from flusso_dagster.live import LIVE_JOB

ACTIVE = [Status.QUEUED, Status.NOT_STARTED, Status.STARTING, Status.STARTED, Status.CANCELING]
#: The live op reports at least every progress_interval_s (15 s), so this much silence means dead.
STALE_AFTER_S = 120.0
BACKOFF_BASE_S = 10.0
BACKOFF_MAX_S = 600.0
HISTORY = 20


@dataclass(frozen=True)
class Backoff:
    base_s: float = BACKOFF_BASE_S
    max_s: float = BACKOFF_MAX_S

    def delay(self, failures: int) -> float:
        """Seconds to wait after `failures` consecutive failed runs (0 when none)."""
        return 0.0 if failures == 0 else min(self.max_s, self.base_s * 2 ** (failures - 1))


def _last_event_time(instance: dg.DagsterInstance, run_id: str) -> float | None:
    records = instance.event_log_storage.get_records_for_run(run_id, ascending=False, limit=1).records
    return records[0].timestamp if records else None


def decide(instance: dg.DagsterInstance, now: float, backoff: Backoff = Backoff()) -> dg.RunRequest | dg.SkipReason:
    """Launch, or say why not."""
    for record in instance.get_run_records(filters=dg.RunsFilter(job_name=LIVE_JOB, statuses=ACTIVE), limit=5):
        run = record.dagster_run
        if run.status == Status.STARTED:
            last = _last_event_time(instance, run.run_id) or record.update_timestamp.timestamp()
            if now - last > STALE_AFTER_S:
                instance.report_run_failed(run, message=f"no event for more than {STALE_AFTER_S:.0f}s: its worker is gone; marked failed by the live guard")
                continue
        return dg.SkipReason(f"{LIVE_JOB} already active: {run.run_id} ({run.status.value})")
    history = instance.get_run_records(filters=dg.RunsFilter(job_name=LIVE_JOB), limit=HISTORY)
    if not history:
        return dg.RunRequest(run_key="first", tags={"flusso/started_by": "live-guard"})
    failures = 0
    for record in history:  # newest first
        if record.dagster_run.status != Status.FAILURE:
            break
        failures += 1
    latest = history[0]
    ended = latest.end_time or latest.update_timestamp.timestamp()
    wait = backoff.delay(failures)
    if now - ended < wait:
        return dg.SkipReason(f"{failures} failed live run(s) in a row; next start in {wait - (now - ended):.0f}s")
    return dg.RunRequest(run_key=f"after-{latest.dagster_run.run_id}", tags={"flusso/started_by": "live-guard"})


def build_live_guard(job: dg.JobDefinition) -> dg.SensorDefinition:
    @dg.sensor(name="flusso_live_guard", job=job, minimum_interval_seconds=15,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Keeps exactly one live-sync run alive; restarts it after a failure with backoff.")
    def flusso_live_guard(context: dg.SensorEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        return decide(context.instance, time.time())

    return flusso_live_guard
