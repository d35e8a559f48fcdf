"""The backfill snapshot: every current key, and consistent with where live starts."""

from __future__ import annotations

import threading

import psycopg

from flusso_engine.capture.acks import UNTRACKED
from flusso_engine.model import Op, TableRef
from tests.capture.support import Follower, confirmed_flush

ITEMS = TableRef("public", "items")


def test_snapshot_reads_every_key_in_pages(db: psycopg.Connection, make_capture) -> None:
    db.execute("CREATE TABLE items (a int, b text, PRIMARY KEY (a, b))")
    db.execute("INSERT INTO items SELECT i % 7, 'k' || i FROM generate_series(1, 250) i")
    capture = make_capture(ITEMS, snapshot_page_size=16)

    changes = list(capture.snapshot([ITEMS]))

    expected = sorted(db.execute("SELECT a::text, b::text FROM items").fetchall())
    assert sorted(c.key for c in changes) == expected
    assert {(c.op, c.table, c.ack.seq) for c in changes} == {(Op.SNAPSHOT, ITEMS, UNTRACKED)}


def test_first_snapshot_is_taken_at_the_slot_start(db: psycopg.Connection, make_capture, transport: str) -> None:
    """Streaming imports the snapshot the slot exported (exactly its start); polling, which has
    no replication connection, snapshots right after creating the slot."""
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("INSERT INTO items SELECT generate_series(1, 10)")
    capture = make_capture(ITEMS, snapshot_page_size=3)

    changes = list(capture.snapshot([ITEMS]))

    consistent = confirmed_flush(db)
    assert len(changes) == 10
    (lsn,) = {c.ack.lsn for c in changes}
    if transport == "wal":
        assert lsn == consistent
    else:
        assert lsn >= consistent


def test_snapshot_and_live_together_lose_nothing_written_during_the_snapshot(
    db: psycopg.Connection, make_capture, pg_database_url: str
) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY, v int)")
    db.execute("INSERT INTO items SELECT i, 0 FROM generate_series(1, 2000) i")
    capture = make_capture(ITEMS, snapshot_page_size=100)
    snapshot = capture.snapshot([ITEMS])
    seen = [next(snapshot)]  # the slot and the snapshot exist from here on
    stop = threading.Event()

    def write() -> None:
        with psycopg.connect(pg_database_url, autocommit=True) as writer:
            i = 2001
            while not stop.is_set():
                writer.execute("INSERT INTO items VALUES (%s, 0)", (i,))
                writer.execute("UPDATE items SET v = v + 1 WHERE id = %s", (i % 2000 + 1,))
                writer.execute("DELETE FROM items WHERE id = %s", (i - 1000,))
                i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        seen.extend(snapshot)
    finally:
        stop.set()
        writer.join()
    final = {key for (key,) in db.execute("SELECT id::text FROM items").fetchall()}
    (changed,) = db.execute("SELECT count(*) FROM items WHERE id > 2000 OR v > 0").fetchone()  # type: ignore[misc]

    follower = Follower(capture).start()
    state = {c.key for c in seen}
    while arrived := follower.quiet(1.5):  # replay the live stream until it goes quiet
        for change in arrived:
            if change.op is Op.DELETE:
                state.discard(change.key)
            else:
                state.add(change.key)
    follower.finish()

    assert changed > 0
    assert state == {(key,) for key in final}


def _prepared_slot(make_capture) -> None:
    """Create the slot with a capture of its own and close it, as an earlier run would have."""
    earlier = make_capture(ITEMS)
    list(earlier.snapshot([ITEMS]))
    earlier.stop()
    earlier.close()


def test_snapshot_resumes_strictly_after_a_composite_key_in_key_order(db: psycopg.Connection, make_capture) -> None:
    db.execute("CREATE TABLE items (a int, b text, PRIMARY KEY (a, b))")
    db.execute("INSERT INTO items SELECT i % 12, 'k' || i FROM generate_series(1, 300) i")
    _prepared_slot(make_capture)
    capture = make_capture(ITEMS, snapshot_page_size=16)

    changes = list(capture.snapshot([ITEMS], {ITEMS: ("9", "k105")}))

    expected = db.execute("SELECT a::text, b::text FROM items WHERE (a, b) > (9, 'k105') ORDER BY items.a, items.b").fetchall()
    assert [c.key for c in changes] == expected
    assert expected[0] == ("9", "k117") and expected[-1][0] == "11"


def test_snapshot_resumes_only_the_tables_it_is_given_keys_for(db: psycopg.Connection, make_capture) -> None:
    others = TableRef("public", "others")
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("CREATE TABLE others (id int PRIMARY KEY)")
    db.execute("INSERT INTO items SELECT generate_series(1, 20)")
    db.execute("INSERT INTO others SELECT generate_series(1, 5)")
    _prepared_slot(make_capture)
    capture = make_capture(ITEMS, others, snapshot_page_size=4)

    changes = list(capture.snapshot([ITEMS, others], {ITEMS: ("17",)}))

    assert [(c.table, c.key) for c in changes] == [
        *((ITEMS, (str(i),)) for i in range(18, 21)),
        *((others, (str(i),)) for i in range(1, 6)),
    ]


def test_a_snapshot_on_a_slot_created_just_now_reads_every_row_despite_a_resume_key(
    db: psycopg.Connection, make_capture
) -> None:
    """The changes made since the earlier run to the rows before the key are in no slot."""
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("INSERT INTO items SELECT generate_series(1, 10)")
    capture = make_capture(ITEMS, snapshot_page_size=3)

    changes = list(capture.snapshot([ITEMS], {ITEMS: ("5",)}))

    assert [c.key for c in changes] == [(str(i),) for i in range(1, 11)]
