"""Document build throughput from Postgres alone, against the server's own JSON assembly speed.

The baseline is `COPY (SELECT row_to_json(...) FROM t) TO STDOUT` read by psycopg: the
same documents streamed in one statement, which is as fast as Postgres can hand them out. The
builder must reach 70 % of it while building by explicit keys in chunks (what live sync and
backfill do; keys in key order, as a backfill reads them). Also reports the rate for keys in random
order (live sync), and times resolve of 10k child changes in one batch (target: under 1 s).

    python bench/build_throughput.py [--url postgresql://...] [--rows N] [--repeat R]

The URL is an admin URL of a server the benchmark may create a scratch database on
(default: $FLUSSO_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import yaml
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flusso_engine.collector import settle_for_streaming  # noqa: E402
from flusso_engine.documents.postgres import PostgresDocumentBuilder  # noqa: E402
from flusso_engine.model import Ack, Change, IndexSpec, Op, TableRef  # noqa: E402
from flusso_engine.schema import IndexSchema  # noqa: E402

DATABASE = "flusso_bench_build"
TABLES = """
CREATE TABLE users (
    id bigint PRIMARY KEY, email text, name text, active boolean, score numeric(10, 2),
    created_at timestamptz, born date, visits int
);
INSERT INTO users SELECT g, 'user' || g || '@example.com', 'User ' || g, g % 2 = 0, g / 7.0,
    now() - g * interval '1 minute', date '1990-01-01' + g % 9000, g % 1000
FROM generate_series(1, {rows}) AS g;
CREATE TABLE visits (id bigint PRIMARY KEY, user_id bigint);
CREATE INDEX ON visits (user_id);
INSERT INTO visits SELECT g, 1 + g % {rows} FROM generate_series(1, 10000) AS g;
"""
COLUMNS = {
    "id": "long", "email": "keyword", "name": "text", "active": "boolean", "score": "decimal",
    "created_at": "timestamp", "born": "date", "visits": "integer",
}
SCHEMA = {
    "version": 1, "table": "users", "primary_key": "id",
    "fields": [{kind: column, "required": True} for column, kind in COLUMNS.items()]
    + [{"count": "visitCount", "table": "visits", "foreign_key": "user_id"}],
}
BASELINE = sql.SQL(
    "COPY (SELECT row_to_json(d) FROM (SELECT {}, "
    "(SELECT count(*) FROM visits AS v WHERE v.user_id = u.id) AS {} FROM users AS u) AS d) TO STDOUT"
).format(sql.SQL(", ").join(
    sql.SQL("{} AS {}").format(sql.SQL("CAST(u.score AS numeric)") if c == "score" else sql.Identifier("u", c), sql.Identifier(c))
    for c in COLUMNS
), sql.Identifier("visitCount"))


def copy_rate(url: str, rows: int) -> float:
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.cursor().copy(BASELINE) as copy:
            for _ in copy:
                pass
        return rows / (time.perf_counter() - started)


def build_rate(builder: PostgresDocumentBuilder, keys: list[tuple[str]]) -> float:
    started = time.perf_counter()
    documents = builder.build("users", keys, version=1)
    elapsed = time.perf_counter() - started
    assert all(d.body is not None for d in documents)
    return len(keys) / elapsed


def resolve_seconds(builder: PostgresDocumentBuilder) -> float:
    batch = [Change(Op.UPDATE, TableRef("public", "visits"), (str(k),), Ack(k, k)) for k in range(1, 10001)]
    started = time.perf_counter()
    resolved = builder.resolve(batch)
    elapsed = time.perf_counter() - started
    assert len(resolved["users"]) == 10000
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("FLUSSO_TEST_POSTGRES_URL"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.url:
        parser.error("give --url or set FLUSSO_TEST_POSTGRES_URL")
    with psycopg.connect(args.url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    url = urlsplit(args.url)._replace(path=f"/{DATABASE}").geturl()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL(TABLES).format(rows=sql.Literal(args.rows)))
            conn.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps a real table in
            keys = [tuple(row) for row in conn.execute("SELECT id::text AS key FROM users ORDER BY id").fetchall()]
        schema = IndexSchema.model_validate(yaml.safe_load(yaml.safe_dump(SCHEMA)))
        settle_for_streaming()  # as build_engine does for every engine process
        builder = PostgresDocumentBuilder(url, {"users": (schema, IndexSpec("users", TableRef("public", "users"), {}))})
        try:
            scattered = random.Random(7).sample(keys, len(keys))
            copies, builds, scattered_builds = [], [], []
            for _ in range(args.repeat):
                copies.append(copy_rate(url, args.rows))
                builds.append(build_rate(builder, keys))
                scattered_builds.append(build_rate(builder, scattered))
            resolve = min(resolve_seconds(builder) for _ in range(args.repeat))
        finally:
            builder.close()
    finally:
        with psycopg.connect(args.url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DATABASE)))
    best_copy, best_build = max(copies), max(builds)
    print(f"rows                 {args.rows}")
    print(f"COPY json baseline   {best_copy:,.0f} docs/s (runs: {', '.join(f'{r:,.0f}' for r in copies)})")
    print(f"builder.build        {best_build:,.0f} docs/s (runs: {', '.join(f'{r:,.0f}' for r in builds)})")
    print(f"ratio                {best_build / best_copy:.0%} (target >= 70%)")
    print(f"build, scattered     {max(scattered_builds):,.0f} docs/s (keys in random order: one index probe each)")
    print(f"resolve 10k changes  {resolve * 1000:.0f} ms (target < 1000 ms)")


if __name__ == "__main__":
    main()
