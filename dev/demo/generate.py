"""Fill the demo store with deterministic pseudo-random data, fast enough for benchmarks.

    python -m dev.demo.generate --dsn URL [--size N] [--seed S] [--reset]

`size` scales everything: N products, N/2 users, N orders with about three items each, a few
hundred categories and tags. Rows stream into COPY as they are generated (nothing is held in
memory but a chunk), and each table draws from its own seeded generator, so the same size and
seed always give the same rows, whatever else changes in this file.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice

import orjson
import psycopg
from psycopg import sql

from dev.demo.draw import Draw
from dev.demo.store import StoreExists, add_constraints, create_tables, move_identities_past_rows
from dev.demo.vocabulary import ADJECTIVES, CITIES, COLORS, COUNTRIES, FIRST_NAMES, LAST_NAMES, NOTES, NOUNS, STATUS_DRAW

DEFAULT_SIZE = 10_000
DEFAULT_SEED = 42
COPY_CHUNK_ROWS = 5_000

EPOCH = date(2024, 1, 1)
BIRTH_EPOCH = date(1950, 1, 1)
YEAR_SECONDS = 365 * 24 * 3600
#: COPY text of every day a generated timestamp can fall on (a year, plus room for shipping).
DAYS = tuple(str(EPOCH + timedelta(days=n)) for n in range(400))


@dataclass(frozen=True)
class Sizes:
    """Row counts for the root tables of one generated store."""

    users: int
    categories: int
    tags: int
    products: int
    orders: int

    @classmethod
    def for_size(cls, size: int) -> Sizes:
        if size < 1:
            raise ValueError(f"size must be at least 1 (got {size})")
        return cls(
            users=max(1, size // 2),
            categories=max(5, min(300, size // 30)),
            tags=max(5, min(400, size // 25)),
            products=size,
            orders=size,
        )


@dataclass
class TableLoad:
    table: str
    rows: int
    seconds: float


@dataclass
class GenerateReport:
    """What a run wrote, for the caller to print or a test to check."""

    tables: list[TableLoad] = field(default_factory=list)
    #: Time spent adding constraints and indexes after the rows: part of the cost of a store.
    constraint_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.tables) + self.constraint_seconds

    def rows_of(self, table: str) -> int:
        return next(t.rows for t in self.tables if t.table == table)


#: One table row for COPY: values are str (already in Postgres input form), int, bool or None.
#: Strings come from the vocabulary, so rows need no COPY escaping.
Row = tuple[str | int | bool | None, ...]


def _timestamp(seconds: int) -> str:
    """COPY text of the moment `seconds` after EPOCH (UTC); by hand, as datetime objects cost more than the rest of a row."""
    day, rest = divmod(seconds, 86_400)
    return f"{DAYS[day]} {rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}+00"


def _moment(draw: Draw) -> str:
    return _timestamp(draw.below(YEAR_SECONDS))


def price_cents(product_id: int, seed: int) -> int:
    """A product's price, derived from its id so order items can copy it without a lookup."""
    return 100 + (product_id * 2_654_435_761 + seed) % 2**32 % 49_900


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def user_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    draw = Draw(seed, "users")
    for user_id in range(1, sizes.users + 1):
        first, last = draw.pick(FIRST_NAMES), draw.pick(LAST_NAMES)
        public_id = draw.uuid()
        yield (user_id, public_id, f"{first}.{last}.{user_id}@example.com", f"{first.title()} {last.title()}",
               draw.chance(0.03), _moment(draw))


def profile_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    """Nine users in ten have a profile, so the load always finds users to give one."""
    draw = Draw(seed, "profiles")
    for user_id in range(1, sizes.users + 1):
        if not draw.chance(0.9):
            continue
        birth = str(BIRTH_EPOCH + timedelta(days=draw.below(50 * 365)))
        bio = None if draw.chance(0.3) else f"likes {draw.pick(NOUNS)}s and {draw.pick(CITIES)}"
        preferences = orjson.dumps({"newsletter": draw.chance(0.5), "theme": draw.pick(("light", "dark"))}).decode()
        yield (user_id, bio, birth, preferences, _moment(draw))


def address_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    draw = Draw(seed, "addresses")
    address_id = 0
    for user_id in range(1, sizes.users + 1):
        for n in range(draw.pick((0, 1, 1, 2, 2, 3))):
            address_id += 1
            yield (address_id, user_id, "shipping" if n == 0 else draw.pick(("shipping", "billing")),
                   f"{draw.between(1, 299)} {draw.pick(LAST_NAMES).title()} Street", draw.pick(CITIES),
                   str(draw.between(10000, 99999)), draw.pick(COUNTRIES), n == 0)


def category_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    """A forest: the first tenth are roots, every later category hangs under an earlier one."""
    draw = Draw(seed, "categories")
    roots = max(1, sizes.categories // 10)
    for category_id in range(1, sizes.categories + 1):
        parent = None if category_id <= roots else draw.between(1, category_id - 1)
        name = f"{draw.pick(ADJECTIVES)} {draw.pick(NOUNS)}s"
        yield (category_id, parent, name.title(), f"{name.replace(' ', '-')}-{category_id}")


def product_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    draw = Draw(seed, "products")
    for product_id in range(1, sizes.products + 1):
        adjective, noun = draw.pick(ADJECTIVES), draw.pick(NOUNS)
        description = None if draw.chance(0.2) else f"A {adjective} {noun} for everyday use."
        attributes = orjson.dumps({"color": draw.pick(COLORS), "weight_g": draw.between(50, 5000)}).decode()
        first_keyword = draw.below(len(ADJECTIVES))
        keywords = "{" + ",".join(ADJECTIVES[first_keyword:first_keyword + draw.below(4)]) + "}"
        deleted_at = _moment(draw) if draw.chance(0.02) else None
        yield (product_id, draw.between(1, sizes.categories), f"SKU-{product_id:09d}", f"{adjective.title()} {noun}",
               description, _money(price_cents(product_id, seed)), "EUR", attributes, keywords, _moment(draw), deleted_at)


def tag_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    draw = Draw(seed, "tags")
    for tag_id in range(1, sizes.tags + 1):
        yield (tag_id, f"{draw.pick(ADJECTIVES + COLORS)}-{tag_id}")


def product_tag_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    """Up to four distinct tags per product (repeated draws collapse, so some have fewer)."""
    draw = Draw(seed, "product_tags")
    for product_id in range(1, sizes.products + 1):
        for tag_id in sorted({draw.between(1, sizes.tags) for _ in range(draw.below(5))}):
            yield (product_id, tag_id)


def order_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    draw = Draw(seed, "orders")
    for order_id in range(1, sizes.orders + 1):
        status = draw.pick(STATUS_DRAW)
        placed = draw.below(YEAR_SECONDS)
        shipped = placed + draw.between(2, 72) * 3600 if status in ("shipped", "delivered") else None
        delivered = DAYS[shipped // 86_400 + draw.between(1, 5)] if status == "delivered" and shipped else None
        note = draw.pick(NOTES) if draw.chance(0.1) else None
        yield (order_id, draw.between(1, sizes.users), status, _timestamp(placed),
               None if shipped is None else _timestamp(shipped), delivered, note)


def order_item_rows(sizes: Sizes, seed: int) -> Iterator[Row]:
    """One to five items per order (three on average), each at its product's price."""
    draw = Draw(seed, "order_items")
    item_id = 0
    for order_id in range(1, sizes.orders + 1):
        for _ in range(draw.between(1, 5)):
            item_id += 1
            product_id = draw.between(1, sizes.products)
            yield (item_id, order_id, product_id, draw.between(1, 5), _money(price_cents(product_id, seed)))


RowSource = Callable[[Sizes, int], Iterator[Row]]

#: Each table, the columns its rows fill (generated columns left out), and its row source,
#: in load order: a child is copied after every parent it references.
COPIES: tuple[tuple[str, tuple[str, ...], RowSource], ...] = (
    ("users", ("id", "public_id", "email", "name", "archived", "created_at"), user_rows),
    ("profiles", ("user_id", "bio", "birth_date", "preferences", "updated_at"), profile_rows),
    ("addresses", ("id", "user_id", "kind", "line1", "city", "postal_code", "country", "is_default"), address_rows),
    ("categories", ("id", "parent_id", "name", "slug"), category_rows),
    ("products", ("id", "category_id", "sku", "name", "description", "price", "currency", "attributes", "keywords",
                  "created_at", "deleted_at"), product_rows),
    ("tags", ("id", "label"), tag_rows),
    ("product_tags", ("product_id", "tag_id"), product_tag_rows),
    ("orders", ("id", "user_id", "status", "placed_at", "shipped_at", "delivery_date", "note"), order_rows),
    ("order_items", ("id", "order_id", "product_id", "quantity", "unit_price"), order_item_rows),
)


def _copy(conn: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable[Row]) -> int:
    """Stream rows into COPY in chunks of text lines: the generator, not the driver, is then the limit."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    lines = ("\t".join(["\\N" if value is None else str(value) for value in row]) for row in rows)
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        while chunk := list(islice(lines, COPY_CHUNK_ROWS)):
            copy.write("\n".join(chunk) + "\n")
            count += len(chunk)
    return count


def generate(conn: psycopg.Connection, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, *, reset: bool = False,
             progress: bool = False) -> GenerateReport:
    """Create the store and fill it, all in one transaction: a run leaves the whole store or nothing.

    Expects an autocommit connection (the final ANALYZE runs on its own).
    """
    sizes = Sizes.for_size(size)
    report = GenerateReport()
    with conn.transaction():
        create_tables(conn, reset=reset)
        for table, columns, source in COPIES:
            started = time.perf_counter()
            rows = _copy(conn, table, columns, source(sizes, seed))
            report.tables.append(TableLoad(table, rows, time.perf_counter() - started))
            if progress:
                _print_table(report.tables[-1])
        started = time.perf_counter()
        add_constraints(conn)
        move_identities_past_rows(conn)
        report.constraint_seconds = time.perf_counter() - started
        if progress:
            print(f"  {'constraints, indexes':<34} {report.constraint_seconds:8.2f} s", flush=True)
    conn.execute("ANALYZE")
    return report


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f} rows/s" if seconds > 0 else "-"


def _print_table(load: TableLoad) -> None:
    print(f"  {load.table:<13} {load.rows:>12,} rows  {load.seconds:8.2f} s  {_rate(load.rows, load.seconds)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.demo.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="Postgres URL of the database to fill")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"scale: number of products and orders (default {DEFAULT_SIZE})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed of the pseudo-random data (default {DEFAULT_SEED})")
    parser.add_argument("--reset", action="store_true", help="drop an existing demo store first")
    args = parser.parse_args(argv)
    if args.size < 1:
        parser.error(f"--size must be at least 1 (got {args.size})")
    print(f"generating the demo store: size {args.size:,}, seed {args.seed}", flush=True)
    try:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            report = generate(conn, args.size, args.seed, reset=args.reset, progress=True)
    except StoreExists as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as exc:
        print(f"error: cannot use the database given by --dsn: {exc}", file=sys.stderr)
        return 2
    print(f"  {'total':<13} {report.rows:>12,} rows  {report.seconds:8.2f} s  {_rate(report.rows, report.seconds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
