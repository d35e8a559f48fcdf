"""Run configuration the engine takes: how changes are batched and what a rejected document does."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """When the worker closes a batch: at `max_changes` changes, or `max_delay` seconds after the
    first change of the batch arrived, whichever comes first; and, with an `idle_delay`, once
    that long has passed and no earlier batch is still waiting for its flush.

    One batch is one flush, so N changes cost ceil(N / max_changes) bulk round trips; the delay
    bounds how long a change waits for company. Waiting only pays while an earlier batch is
    being flushed, since this one could not be flushed before it anyway: so a live batch closes
    with the changes at hand once the sink has nothing left to flush. A lone change then goes
    almost at once, and under load each batch holds what arrived during the previous flush (B3:
    p50 46-67 ms against 75-116 ms lingering the full delay, at twice the batches). The few
    milliseconds of `idle_delay` keep a stream that arrives about as fast as the worker takes it
    from being cut into batches of a handful of changes, each paying a batch's round trips
    (B6). A backfill closes on count alone (None): full batches are what make it fast.

    `ahead` is how many batches the worker may resolve and build while an earlier one is still
    being written and flushed: with 1, Postgres builds batch N+1 while OpenSearch makes batch N
    durable; with 0, each batch waits for the previous flush. Acks are confirmed in batch order
    either way.
    """

    max_changes: int = 256
    max_delay: float = 0.05
    ahead: int = 1
    idle_delay: float | None = 0.005

    def __post_init__(self) -> None:
        if self.max_changes < 1:
            raise ValueError(f"BatchPolicy.max_changes must be at least 1, got {self.max_changes}")
        if self.max_delay < 0:
            raise ValueError(f"BatchPolicy.max_delay must not be negative, got {self.max_delay}")
        if self.idle_delay is not None and self.idle_delay < 0:
            raise ValueError(f"BatchPolicy.idle_delay must not be negative, got {self.idle_delay}")
        if self.ahead < 0:
            raise ValueError(f"BatchPolicy.ahead must not be negative, got {self.ahead}")


#: Backfill batches: one snapshot page each, thousands of rows (see SlotSource): a snapshot has
#: no latency to protect, so a batch is as large as keeps several bulk requests in flight and
#: amortizes each flush's round trip over the page.
BACKFILL_BATCH = BatchPolicy(max_changes=1, max_delay=0.5, idle_delay=None)


class FailurePolicy(enum.Enum):
    """What a document the sink rejected does to the run.

    STOP fails the run with the batch unconfirmed (it is redelivered after the fix); SKIP records
    the document as quarantined and confirms the batch, so one poison document cannot halt sync.
    """

    STOP = "stop"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class FailurePolicies:
    """The failure policy per index: an override if the index has one, else the default.

    Governs item-level rejections only; a flush that fails as a whole always stops the run.
    """

    default: FailurePolicy = FailurePolicy.STOP
    overrides: Mapping[str, FailurePolicy] = field(default_factory=dict)

    def resolve(self, index: str) -> FailurePolicy:
        return self.overrides.get(index, self.default)
