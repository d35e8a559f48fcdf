"""Keep the demo store changing at a steady rate: inserts, updates and deletes on every table.

    python -m dev.demo.load --dsn URL --rate R [--duration S] [--seed S]

A change is one statement on one row (cascades aside): a table drawn by the mix's weights, then a
random kind. The default mix is a shop's: orders and their items change most, users and their
details less, products now and then, and a category or tag (each read by hundreds of product
documents) only rarely. Change i is due i / rate seconds after the start; the changes due at one moment share a small
transaction, so the WAL sees many short transactions the way it does from an application, and
a slow moment is caught up rather than lowering the rate. Rows are picked by a random key, the
first row at or after it (wrapping around), so every pick is a short index scan even on
millions of rows. A statement that finds nothing to change (no user without orders to delete, say) is
counted as a miss, not retried. Deletes pick rows little hangs off (a user without orders, an
unused tag), so one change never cascades to thousands of rows.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, LiteralString

import psycopg
from psycopg import sql

from dev.demo.draw import Draw
from dev.demo.store import IDENTITY_TABLES, TABLES
from dev.demo.vocabulary import ADJECTIVES, CITIES, COLORS, COUNTRIES, FIRST_NAMES, LAST_NAMES, NOTES, NOUNS, STATUSES

Kind = Literal["insert", "update", "delete"]
KINDS: tuple[Kind, ...] = ("insert", "update", "delete")
#: Kinds repeated by weight: tables grow a little, as a live store does.
KIND_DRAW: tuple[Kind, ...] = ("insert", "insert", "update", "update", "delete")

#: Changes per thousand, by table: what a live shop changes. An order or an item rebuilds one
#: document and a user a few; a category or tag rename rebuilds every product under it (hundreds
#: to thousands), so renames are rare here as they are in a real store, and a latency measured
#: under this load is the latency of everyday changes.
SHOP_MIX: Mapping[str, int] = {
    "order_items": 300, "orders": 280, "users": 150, "profiles": 60, "addresses": 60,
    "products": 100, "product_tags": 48, "categories": 1, "tags": 1,
}
#: Every table alike: every statement of the load runs within a few hundred changes.
EVEN_MIX: Mapping[str, int] = {table: 1 for table in TABLES}

#: At most this many changes share a transaction when the load has fallen behind its schedule.
MAX_CHANGES_PER_TRANSACTION = 10

#: A unique suffix made by the server, so a rerun with the same seed never collides with old rows.
UNIQUE_SUFFIX = sql.SQL("left(replace(gen_random_uuid()::text, '-', ''), 12)")

Params = dict[str, object]


def _pick(table: str, keys: tuple[str, ...] = ("id",), *, space: str | None = None,
          where: sql.Composable = sql.SQL("true")) -> sql.Composed:
    """A subquery giving one row's key: the first at or after `%(r_<space>)s`, else the first before.

    `space` names the id range the random key is drawn from (a table's own, or its parent's for
    tables keyed by a foreign key). `where` filters candidates and may refer to the row as `t`.
    The second branch only runs when the first finds nothing, so a pick stays a short index scan.
    """
    first = sql.Identifier("t", keys[0])
    columns = sql.SQL(", ").join(sql.Identifier("t", key) for key in keys)
    draw = sql.Placeholder(f"r_{space or table}")
    branch = sql.SQL("(SELECT {columns} FROM {table} AS t WHERE {first} {op} {draw} AND ({where}) ORDER BY {columns} LIMIT 1)")
    parts = {"columns": columns, "table": sql.Identifier(table), "first": first, "draw": draw, "where": where}
    return sql.SQL("({} UNION ALL {} LIMIT 1)").format(
        branch.format(op=sql.SQL(">="), **parts), branch.format(op=sql.SQL("<"), **parts)
    )


@dataclass(frozen=True)
class Mutation:
    """One kind of change to one table: the statement and how to draw its values."""

    table: str
    kind: Kind
    statement: sql.Composable
    params: Callable[[Draw], Params] = lambda _draw: {}


def _user_values(draw: Draw) -> Params:
    first, last = draw.pick(FIRST_NAMES), draw.pick(LAST_NAMES)
    return {"local": f"{first}.{last}", "name": f"{first.title()} {last.title()}", "archived": draw.chance(0.05)}


def _profile_values(draw: Draw) -> Params:
    return {
        "bio": f"likes {draw.pick(NOUNS)}s and {draw.pick(CITIES)}",
        "birth": f"{draw.between(1950, 2005)}-{draw.between(1, 12):02d}-{draw.between(1, 28):02d}",
        "prefs": f'{{"theme": "{draw.pick(("light", "dark"))}"}}',
    }


def _address_values(draw: Draw) -> Params:
    return {
        "kind": draw.pick(("shipping", "billing")),
        "line1": f"{draw.between(1, 299)} {draw.pick(LAST_NAMES).title()} Street",
        "city": draw.pick(CITIES),
        "postal": str(draw.between(10000, 99999)),
        "country": draw.pick(COUNTRIES),
        "move": draw.chance(0.2),
    }


def _product_values(draw: Draw) -> Params:
    adjective, noun = draw.pick(ADJECTIVES), draw.pick(NOUNS)
    return {
        "name": f"{adjective.title()} {noun}",
        "description": f"A {adjective} {noun} for everyday use.",
        "price": f"{draw.between(1, 499)}.{draw.between(0, 99):02d}",
        "keywords": [adjective, draw.pick(ADJECTIVES)],
        "attributes": f'{{"color": "{draw.pick(COLORS)}"}}',
        "retire": draw.chance(0.05),
        "move": draw.chance(0.2),
    }


def _order_values(draw: Draw) -> Params:
    status = draw.pick(STATUSES)
    return {
        "note": draw.pick(NOTES),
        "status": status,
        "shipped": status in ("shipped", "delivered"),
        "delivered": status == "delivered",
    }


def _item_values(draw: Draw) -> Params:
    return {"quantity": draw.between(1, 5), "move": draw.chance(0.2)}


def _word(draw: Draw) -> Params:
    return {"word": draw.pick(ADJECTIVES + COLORS + NOUNS)}


def _unreferenced_by(table: str, column: str) -> sql.Composed:
    """A pick filter: no row of `table` points at the candidate `t` through `column`.

    OFFSET 0 keeps the planner from turning the test into an anti join, which would scan the
    referencing table from its start (~100 ms on a million rows); as a per-candidate probe of
    the foreign-key index it costs microseconds.
    """
    return sql.SQL("NOT EXISTS (SELECT 1 FROM {} AS x WHERE x.{} = t.id OFFSET 0)").format(
        sql.Identifier(table), sql.Identifier(column)
    )


_NO_ORDERS = _unreferenced_by("orders", "user_id")
_NO_PROFILE = _unreferenced_by("profiles", "user_id")
_NO_PRODUCTS = _unreferenced_by("products", "category_id")
_NO_PRODUCT_TAGS = _unreferenced_by("product_tags", "tag_id")
_NOT_ORDERED = _unreferenced_by("order_items", "product_id")
_PRODUCT_TAG = _pick("product_tags", ("product_id", "tag_id"), space="products")


def _q(template: LiteralString, **picks: sql.Composable) -> sql.Composed:
    """A statement with its row picks (and the unique suffix, where it asks for one) filled in."""
    return sql.SQL(template).format(**picks, suffix=UNIQUE_SUFFIX)


MUTATIONS: tuple[Mutation, ...] = (
    Mutation("users", "insert", _q(
        "INSERT INTO users (public_id, email, name) "
        "SELECT u, %(local)s || '.' || replace(u::text, '-', '') || '@example.com', %(name)s FROM gen_random_uuid() AS u"),
        _user_values),
    Mutation("users", "update", _q("UPDATE users SET name = %(name)s, archived = %(archived)s WHERE id = {user}",
                                   user=_pick("users")), _user_values),
    Mutation("users", "delete", _q("DELETE FROM users WHERE id = {user}", user=_pick("users", where=_NO_ORDERS))),
    Mutation("profiles", "insert", _q(
        "INSERT INTO profiles (user_id, bio, birth_date, preferences) "
        "SELECT target.id, %(bio)s, %(birth)s::date, %(prefs)s::jsonb FROM {user} AS target",
        user=_pick("users", where=_NO_PROFILE)), _profile_values),
    Mutation("profiles", "update", _q(
        "UPDATE profiles SET bio = %(bio)s, preferences = preferences || %(prefs)s::jsonb, updated_at = now() "
        "WHERE user_id = {profile}", profile=_pick("profiles", ("user_id",), space="users")), _profile_values),
    Mutation("profiles", "delete", _q("DELETE FROM profiles WHERE user_id = {profile}",
                                      profile=_pick("profiles", ("user_id",), space="users"))),
    Mutation("addresses", "insert", _q(
        "INSERT INTO addresses (user_id, kind, line1, city, postal_code, country) "
        "SELECT target.id, %(kind)s, %(line1)s, %(city)s, %(postal)s, %(country)s FROM {user} AS target",
        user=_pick("users")), _address_values),
    Mutation("addresses", "update", _q(
        "UPDATE addresses SET city = %(city)s, "
        "user_id = CASE WHEN %(move)s THEN coalesce({user}, user_id) ELSE user_id END WHERE id = {address}",
        user=_pick("users"), address=_pick("addresses")), _address_values),
    Mutation("addresses", "delete", _q("DELETE FROM addresses WHERE id = {address}", address=_pick("addresses"))),
    Mutation("categories", "insert", _q(
        "INSERT INTO categories (parent_id, name, slug) SELECT {parent}, initcap(%(word)s), %(word)s || '-' || {suffix}",
        parent=_pick("categories")), _word),
    Mutation("categories", "update", _q("UPDATE categories SET name = initcap(%(word)s) WHERE id = {category}",
                                        category=_pick("categories")), _word),
    Mutation("categories", "delete", _q("DELETE FROM categories WHERE id = {category}",
                                        category=_pick("categories", where=_NO_PRODUCTS))),
    Mutation("products", "insert", _q(
        "INSERT INTO products (category_id, sku, name, description, price, keywords, attributes) "
        "SELECT target.id, 'SKU-' || upper({suffix}), %(name)s, %(description)s, %(price)s::numeric, %(keywords)s, "
        "%(attributes)s::jsonb FROM {category} AS target", category=_pick("categories")), _product_values),
    Mutation("products", "update", _q(
        "UPDATE products SET price = %(price)s::numeric, keywords = %(keywords)s, "
        "deleted_at = CASE WHEN %(retire)s THEN now() END, "
        "category_id = CASE WHEN %(move)s THEN coalesce({category}, category_id) ELSE category_id END WHERE id = {product}",
        category=_pick("categories"), product=_pick("products")), _product_values),
    Mutation("products", "delete", _q("DELETE FROM products WHERE id = {product}",
                                      product=_pick("products", where=_NOT_ORDERED))),
    Mutation("tags", "insert", _q("INSERT INTO tags (label) SELECT %(word)s || '-' || {suffix}"), _word),
    Mutation("tags", "update", _q("UPDATE tags SET label = %(word)s || '-' || {suffix} WHERE id = {tag}",
                                  tag=_pick("tags")), _word),
    Mutation("tags", "delete", _q("DELETE FROM tags WHERE id = {tag}", tag=_pick("tags", where=_NO_PRODUCT_TAGS))),
    Mutation("product_tags", "insert", _q(
        "INSERT INTO product_tags (product_id, tag_id) SELECT p.id, g.id FROM {product} AS p, {tag} AS g ON CONFLICT DO NOTHING",
        product=_pick("products"), tag=_pick("tags"))),
    Mutation("product_tags", "update", _q(
        "UPDATE product_tags AS pt SET tag_id = g.id FROM {target} AS target, {tag} AS g "
        "WHERE pt.product_id = target.product_id AND pt.tag_id = target.tag_id "
        "AND NOT EXISTS (SELECT 1 FROM product_tags x WHERE x.product_id = target.product_id AND x.tag_id = g.id)",
        target=_PRODUCT_TAG, tag=_pick("tags"))),
    Mutation("product_tags", "delete", _q(
        "DELETE FROM product_tags AS pt USING {target} AS target "
        "WHERE pt.product_id = target.product_id AND pt.tag_id = target.tag_id", target=_PRODUCT_TAG)),
    Mutation("orders", "insert", _q("INSERT INTO orders (user_id, note) SELECT target.id, %(note)s FROM {user} AS target",
                                    user=_pick("users")), _order_values),
    Mutation("orders", "update", _q(
        "UPDATE orders SET status = %(status)s::order_status, "
        "shipped_at = CASE WHEN %(shipped)s THEN coalesce(shipped_at, now()) END, "
        "delivery_date = CASE WHEN %(delivered)s THEN coalesce(delivery_date, current_date) END WHERE id = {order}",
        order=_pick("orders")), _order_values),
    Mutation("orders", "delete", _q("DELETE FROM orders WHERE id = {order}", order=_pick("orders"))),
    Mutation("order_items", "insert", _q(
        "INSERT INTO order_items (order_id, product_id, quantity, unit_price) "
        "SELECT o.id, p.id, %(quantity)s, p.price FROM {order} AS o, products AS p WHERE p.id = {product}",
        order=_pick("orders"), product=_pick("products")), _item_values),
    Mutation("order_items", "update", _q(
        "UPDATE order_items SET quantity = %(quantity)s, "
        "order_id = CASE WHEN %(move)s THEN coalesce({order}, order_id) ELSE order_id END WHERE id = {item}",
        order=_pick("orders"), item=_pick("order_items")), _item_values),
    Mutation("order_items", "delete", _q("DELETE FROM order_items WHERE id = {item}", item=_pick("order_items"))),
)

_BY_TABLE_AND_KIND = {(m.table, m.kind): m for m in MUTATIONS}


@dataclass
class LoadStats:
    """What a load run did: rows changed and statements that found nothing, per table and kind."""

    changed: Counter[tuple[str, Kind]] = field(default_factory=Counter)
    missed: Counter[tuple[str, Kind]] = field(default_factory=Counter)
    transactions: int = 0
    seconds: float = 0.0

    @property
    def statements(self) -> int:
        return sum(self.changed.values()) + sum(self.missed.values())

    @property
    def rate(self) -> float:
        """Statements per second: the pace the load kept, misses included."""
        return self.statements / self.seconds if self.seconds > 0 else 0.0

    def table(self) -> str:
        lines = [f"  {'table':<13} {'inserts':>9} {'updates':>9} {'deletes':>9} {'misses':>9}"]
        for table in TABLES:
            counts = [self.changed[(table, kind)] for kind in KINDS]
            missed = sum(self.missed[(table, kind)] for kind in KINDS)
            lines.append(f"  {table:<13} {counts[0]:>9,} {counts[1]:>9,} {counts[2]:>9,} {missed:>9,}")
        lines.append(f"  {self.statements:,} changes in {self.transactions:,} transactions, "
                     f"{self.seconds:.1f} s, {self.rate:,.1f} changes/s")
        return "\n".join(lines)


def _id_ranges(conn: psycopg.Connection) -> dict[str, int]:
    """The highest id of each identity table: random keys are drawn below it."""
    ranges = {}
    for table in IDENTITY_TABLES:
        row = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(sql.Identifier(table))).fetchone()
        ranges[table] = int(row[0]) if row else 0
    return ranges


def run_load(conn: psycopg.Connection, rate: float, duration: float | None = None, seed: int = 0, *,
             stop: threading.Event | None = None, mix: Mapping[str, int] = SHOP_MIX) -> LoadStats:
    """Change the store at `rate` changes/s until `duration` seconds pass or `stop` is set.

    With a duration the run lasts exactly that long and makes rate x duration changes, unless
    the database cannot keep up (then fewer: the pace shows in the stats); without one it runs
    until `stop`. Tables are drawn in proportion to their weight in `mix`. Give it an autocommit
    connection: each group of due changes is its own transaction.
    """
    if rate <= 0:
        raise ValueError(f"rate must be positive (got {rate})")
    if duration is not None and duration <= 0:
        raise ValueError(f"duration must be positive (got {duration})")
    if stop is None:
        stop = threading.Event()
    draw = Draw(seed, "load")
    tables = tuple(table for table, weight in mix.items() for _ in range(weight))  # one pick per draw
    ranges = _id_ranges(conn)
    stats = LoadStats()
    limit = math.inf if duration is None else int(rate * duration)
    start = time.monotonic()
    deadline = math.inf if duration is None else start + duration
    done = 0
    with conn.cursor() as cur:
        while done < limit and not stop.is_set() and time.monotonic() < deadline:
            elapsed = time.monotonic() - start
            due = min(int(elapsed * rate) + 1, limit) - done
            if due <= 0:
                stop.wait(done / rate - elapsed)
                continue
            batch = min(int(due), MAX_CHANGES_PER_TRANSACTION)
            with conn.transaction():
                for _ in range(batch):
                    _change(cur, draw, draw.pick(tables), ranges, stats)
            stats.transactions += 1
            done += batch
    if duration is not None:
        stop.wait(max(0.0, deadline - time.monotonic()))
    stats.seconds = time.monotonic() - start
    return stats


def _change(cur: psycopg.Cursor, draw: Draw, table: str, ranges: dict[str, int], stats: LoadStats) -> None:
    mutation = _BY_TABLE_AND_KIND[(table, draw.pick(KIND_DRAW))]
    params = mutation.params(draw)
    params.update({f"r_{space}": draw.between(1, max(1, high)) for space, high in ranges.items()})
    cur.execute(mutation.statement, params)
    if cur.rowcount > 0:
        stats.changed[(mutation.table, mutation.kind)] += cur.rowcount
        if mutation.kind == "insert" and mutation.table in ranges:
            ranges[mutation.table] += cur.rowcount
    else:
        stats.missed[(mutation.table, mutation.kind)] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dev.demo.load", description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="Postgres URL of a database holding the demo store")
    parser.add_argument("--rate", type=float, required=True, help="changes per second")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: until Ctrl-C)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pseudo-random changes (default 0)")
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error(f"--rate must be positive (got {args.rate})")
    if args.duration is not None and args.duration <= 0:
        parser.error(f"--duration must be positive (got {args.duration})")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"changing the demo store at {args.rate:g} changes/s"
          f"{f' for {args.duration:g} s' if args.duration else ' until Ctrl-C'}", flush=True)
    try:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            stats = run_load(conn, args.rate, args.duration, args.seed, stop=stop)
    except psycopg.errors.UndefinedTable:
        print("error: the database has no demo store; create it with python -m dev.demo.generate", file=sys.stderr)
        return 2
    except psycopg.OperationalError as exc:
        print(f"error: cannot use the database given by --dsn: {exc}", file=sys.stderr)
        return 2
    print(stats.table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
