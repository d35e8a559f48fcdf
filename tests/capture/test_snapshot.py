"""The backfill snapshot: pages of key ranges that cover every current row once, and together
with the live stream lose nothing."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import psycopg

from flusso_engine.capture.acks import UNTRACKED
from flusso_engine.model import Change, Op, RowKey, TableRef
from tests.capture.support import Follower, confirmed_flush

ITEMS = TableRef("public", "items")

#: The rows of `items` (keyed by a, b) a page names, as a builder reads them.
PAIR_PAGE = "SELECT a::text, b FROM items WHERE (a, b) > (%s::int, %s) AND (a, b) <= (%s::int, %s) ORDER BY items.a, items.b"
PAIR_FIRST_PAGE = "SELECT a::text, b FROM items WHERE (a, b) <= (%s::int, %s) ORDER BY items.a, items.b"
ID_PAGE = "SELECT id::text FROM items WHERE id > coalesce(%s::int, -1) AND id <= %s::int ORDER BY id"


def pair_rows(db: psycopg.Connection, page: Change) -> list[RowKey]:
    if page.old_key is None:
        return db.execute(PAIR_FIRST_PAGE, page.key).fetchall()
    return db.execute(PAIR_PAGE, [*page.old_key, *page.key]).fetchall()


def id_rows(db: psycopg.Connection, page: Change) -> list[RowKey]:
    return db.execute(ID_PAGE, [page.old_key[0] if page.old_key else None, page.key[0]]).fetchall()


def assert_contiguous(pages: Sequence[Change], start: RowKey | None = None) -> None:
    assert [page.old_key for page in pages] == [start, *(page.key for page in pages[:-1])]


def test_snapshot_pages_cover_every_key_once_in_key_order(db: psycopg.Connection, make_capture) -> None:
    db.execute("CREATE TABLE items (a int, b text, PRIMARY KEY (a, b))")
    db.execute("INSERT INTO items SELECT i % 7, 'k' || i FROM generate_series(1, 250) i")
    capture = make_capture(ITEMS, snapshot_page_size=16)

    pages = list(capture.snapshot([ITEMS]))

    assert_contiguous(pages)
    rows = [pair_rows(db, page) for page in pages]
    assert [row for page in rows for row in page] == db.execute("SELECT a::text, b FROM items ORDER BY items.a, items.b").fetchall()
    assert [len(page) for page in rows] == [16] * 15 + [10]
    assert {(c.op, c.table, c.ack.seq) for c in pages} == {(Op.SNAPSHOT, ITEMS, UNTRACKED)}


def test_a_snapshot_of_an_empty_table_has_no_page(db: psycopg.Connection, make_capture) -> None:
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    assert list(make_capture(ITEMS).snapshot([ITEMS])) == []


def test_a_snapshot_is_read_once_its_slot_exists(db: psycopg.Connection, make_capture) -> None:
    """Every commit after the snapshot's position is in the slot, so its pages lose nothing."""
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("INSERT INTO items SELECT generate_series(1, 10)")
    capture = make_capture(ITEMS, snapshot_page_size=3)

    pages = list(capture.snapshot([ITEMS]))

    assert [page.key for page in pages] == [("3",), ("6",), ("9",), ("10",)]
    (lsn,) = {c.ack.lsn for c in pages}
    assert lsn >= confirmed_flush(db)


def test_a_snapshot_holds_no_transaction_open_between_its_pages(db: psycopg.Connection, make_capture) -> None:
    """A backfill may take hours; an open snapshot would hold back vacuum all that time."""
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("INSERT INTO items SELECT generate_series(1, 10)")
    snapshot = make_capture(ITEMS, snapshot_page_size=4).snapshot([ITEMS])

    next(snapshot)

    sessions = db.execute(
        "SELECT state, backend_xmin FROM pg_stat_activity WHERE application_name = 'flusso snapshot'"
    ).fetchall()
    assert sessions == [("idle", None)]


def test_snapshot_and_live_together_lose_nothing_written_during_the_snapshot(
    db: psycopg.Connection, make_capture, pg_database_url: str
) -> None:
    """Each page's rows are read when it arrives, as the engine builds it, while a writer inserts,
    updates and deletes; the live stream then brings every row to its final state."""
    db.execute("CREATE TABLE items (id int PRIMARY KEY, v int)")
    db.execute("INSERT INTO items SELECT i, 0 FROM generate_series(1, 2000) i")
    capture = make_capture(ITEMS, snapshot_page_size=100)
    snapshot = capture.snapshot([ITEMS])
    pages = [next(snapshot)]  # the slot exists from here on
    state = set(id_rows(db, pages[0]))
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
        for page in snapshot:
            pages.append(page)
            state.update(id_rows(db, page))
    finally:
        stop.set()
        writer.join()
    final = {key for (key,) in db.execute("SELECT id::text FROM items").fetchall()}
    (changed,) = db.execute("SELECT count(*) FROM items WHERE id > 2000 OR v > 0").fetchone()  # type: ignore[misc]

    follower = Follower(capture).start()
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

    pages = list(capture.snapshot([ITEMS], {ITEMS: ("9", "k105")}))

    assert_contiguous(pages, ("9", "k105"))
    expected = db.execute("SELECT a::text, b FROM items WHERE (a, b) > (9, 'k105') ORDER BY items.a, items.b").fetchall()
    assert [row for page in pages for row in pair_rows(db, page)] == expected
    assert expected[0] == ("9", "k117") and expected[-1][0] == "11"


def test_snapshot_resumes_only_the_tables_it_is_given_keys_for(db: psycopg.Connection, make_capture) -> None:
    others = TableRef("public", "others")
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("CREATE TABLE others (id int PRIMARY KEY)")
    db.execute("INSERT INTO items SELECT generate_series(1, 20)")
    db.execute("INSERT INTO others SELECT generate_series(1, 5)")
    _prepared_slot(make_capture)
    capture = make_capture(ITEMS, others, snapshot_page_size=4)

    pages = list(capture.snapshot([ITEMS, others], {ITEMS: ("17",)}))

    assert [(c.table, c.old_key, c.key) for c in pages] == [
        (ITEMS, ("17",), ("20",)), (others, None, ("4",)), (others, ("4",), ("5",)),
    ]


def test_a_snapshot_on_a_slot_created_just_now_reads_every_row_despite_a_resume_key(
    db: psycopg.Connection, make_capture
) -> None:
    """The changes made since the earlier run to the rows before the key are in no slot."""
    db.execute("CREATE TABLE items (id int PRIMARY KEY)")
    db.execute("INSERT INTO items SELECT generate_series(1, 10)")
    capture = make_capture(ITEMS, snapshot_page_size=3)

    pages = list(capture.snapshot([ITEMS], {ITEMS: ("5",)}))

    assert pages[0].old_key is None
    assert [row for page in pages for row in id_rows(db, page)] == [(str(i),) for i in range(1, 11)]
