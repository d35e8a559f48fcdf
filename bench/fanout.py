"""B3's head-of-line figure: live latency of small changes while large rebuilds come and go.

A tag is put on every 12th product (about 4,200 of a 50,000 store), then renamed every 2 s
while single products change price at a fixed rate; the products index follows. Each rename
rebuilds thousands of documents. The baseline is the same price load without the renames, in
the same run: the ratio is what the rebuilds cost the changes behind them. Before a large live
rebuild was built and flushed a chunk at a time (flusso_engine/rebuilds.py), every price change
behind a rename waited for its whole flush: p99 1.0-2.6 s against 0.12-0.17 s after, measured with
this load on one warmed stack, the two versions alternating (2026-12-01). A second figure
renames every RENAME_FAST seconds, faster than a rebuild: each rename then arrives while the one
before is still being rebuilt (see flusso_engine/rebuilds.py).

The percentiles are the price changes' alone; each rename's own latency, which is as long as the
rebuild it asks for, is reported apart. Counted together, the 60 renames of a 0.5 s run were half
of its slowest 1 % (a second or so each), so that p99 was the price changes' p99.5: 233-412 ms,
against 191-244 ms for the price changes alone, with renames durable after 0.67-0.80 s median
(2026-12-03, two runs each).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.live import await_confirmed, await_following, percentile, timed_engine
from bench.stack import DEMO, Stack
from flusso_engine.collector import settle_for_streaming

RENAME_EVERY = 2.0
#: The same renames coming faster than one rebuild takes: a rename then arrives while the products
#: of the one before are still being rebuilt.
RENAME_FAST = 0.5
#: Every this-many-th product gets the renamed tag.
TAGGED_EVERY = 12


@dataclass(frozen=True)
class Percentiles:
    """The price changes' latency; the renames' own, apart (0 without renames)."""

    p50: float
    p99: float
    changes: int
    rename_p50: float = 0.0
    rename_max: float = 0.0


@dataclass(frozen=True)
class FanOut:
    with_renames: Percentiles
    #: With a rename every RENAME_FAST seconds.
    fast_renames: Percentiles
    without: Percentiles
    tagged: int


def fan_out(stack: Stack, database_url: str, workdir: Path, rate: float, seconds: float) -> FanOut:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT tag_id FROM product_tags GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()
        assert row is not None, "the store has no product tags"
        tag = int(row[0])
        conn.execute("INSERT INTO product_tags SELECT id, %s FROM products WHERE id %% %s = 0 ON CONFLICT DO NOTHING",
                     (tag, TAGGED_EVERY))
        counted = conn.execute("SELECT count(*) FROM product_tags WHERE tag_id = %s", (tag,)).fetchone()
        products = conn.execute("SELECT max(id) FROM products").fetchone()
    assert counted is not None and products is not None
    load = (stack, database_url, workdir, rate, seconds, int(products[0]))
    without = _latency(*load, None, RENAME_EVERY)
    with_renames = _latency(*load, tag, RENAME_EVERY)
    fast_renames = _latency(*load, tag, RENAME_FAST)
    return FanOut(with_renames, fast_renames, without, int(counted[0]))


def _latency(stack: Stack, database_url: str, workdir: Path, rate: float, seconds: float, products: int,
             tag: int | None, rename_every: float) -> Percentiles:
    """The products index following price changes at `rate` (and renames of `tag` every
    `rename_every` seconds, if given)."""
    engine, capture, observer = timed_engine(stack, database_url, {"products": DEMO["products"]}, workdir)

    def load() -> None:
        try:
            await_following(observer, capture, database_url)
            draw = random.Random(7)
            with psycopg.connect(database_url, autocommit=True) as conn:
                start = time.monotonic()
                made, renames = 0, 0
                while time.monotonic() - start < seconds:
                    if tag is not None and time.monotonic() - start >= renames * rename_every:
                        renames += 1
                        conn.execute("UPDATE tags SET label = %s WHERE id = %s", (f"renamed-{renames}-{start}", tag))
                    conn.execute("UPDATE products SET price = price + 0.01 WHERE id = %s", (draw.randint(1, products),))
                    made += 1
                    ahead = start + made / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            await_confirmed(capture)
        finally:
            engine.stop()

    settle_for_streaming()
    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    engine.run()
    loader.join()
    stack.drop_slots()
    now = time.time()
    prices = capture.by_table.get("products", []) + capture.unconfirmed(now, "products")
    renames = capture.by_table.get("tags", []) + capture.unconfirmed(now, "tags")
    return Percentiles(percentile(prices, 0.5), percentile(prices, 0.99), len(prices),
                       *((percentile(renames, 0.5), max(renames)) if renames else ()))
