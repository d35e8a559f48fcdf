"""The bench's timed capture: each change's latency, also by table, so a mixed load reports each kind."""

from __future__ import annotations

import time

from bench.live import TimedCapture
from flusso_engine.model import Ack, Change, Op, TableRef
from tests.engine.fakes import Journal, ScriptedCapture

PRODUCTS, TAGS = TableRef("public", "products"), TableRef("public", "tags")


def change(table: TableRef, seq: int, committed: float) -> Change:
    return Change(Op.UPDATE, table, (str(seq),), Ack(seq, seq), commit_time=committed)


def test_latencies_are_kept_by_table_so_a_rename_is_not_counted_as_a_price_change() -> None:
    now = time.time()
    script = [change(PRODUCTS, 1, now - 0.05), change(TAGS, 2, now - 1.0), change(PRODUCTS, 3, now - 0.02)]
    capture = TimedCapture(ScriptedCapture(Journal(), script))
    changes = list(capture.live())

    capture.confirm([c.ack for c in changes[:2]])

    assert sorted(capture.by_table) == ["products", "tags"]
    assert capture.by_table["tags"][0] >= 1.0
    assert len(capture.latencies) == 2
    (waiting,) = capture.unconfirmed(now, "products")
    assert abs(waiting - 0.02) < 1e-6
    assert capture.unconfirmed(now, "tags") == []


def test_forgetting_a_warm_up_drops_its_latencies_from_every_view() -> None:
    capture = TimedCapture(ScriptedCapture(Journal(), [change(PRODUCTS, 1, time.time())]))
    capture.confirm([c.ack for c in capture.live()])

    capture.forget()

    assert capture.confirmed == [] and capture.by_table == {}
