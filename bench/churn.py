"""A minimal change load for B4, B6 and B7, in a process of its own (no GIL shared with the engine).

    python -m bench.churn DSN {products|noise} --rate R --duration S [--seed N]

`products` updates random products (each row one change for the flat index); `noise` inserts
into bench_noise, a table no index reads. Changes are paced like the demo's load (change i due at
i / rate s), ten to a transaction, made by one statement: the engine sees the same ten row
changes per transaction as from ten statements, while the load itself costs the shared machine a
tenth of the CPU (ten statements a transaction made the loaders use more CPU than the engine at
5,000 changes/s). Prints the changes made.
"""

from __future__ import annotations

import argparse
import random
import time

import psycopg

PER_TRANSACTION = 10
#: How long past the duration a loader that fell behind its schedule may take to make its quota:
#: a moment's stall on a shared machine must not shave the last changes off a step.
LATE_GRACE_SECONDS = 2.0
UPDATE_PRODUCTS = "UPDATE products SET price = price + 0.01 WHERE id = ANY(%s)"
INSERT_NOISE = "INSERT INTO bench_noise (payload) SELECT repeat('x', 100) FROM generate_series(1, %s)"
NOISE_TABLE = "CREATE TABLE IF NOT EXISTS bench_noise (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dsn")
    parser.add_argument("kind", choices=["products", "noise"])
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    draw = random.Random(args.seed)
    done = 0
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        high = int(conn.execute("SELECT max(id) FROM products").fetchone()[0])  # type: ignore[index]
        start = time.monotonic()
        limit = int(args.rate * args.duration)
        with conn.cursor() as cur:
            while done < limit:
                elapsed = time.monotonic() - start
                if elapsed > args.duration + LATE_GRACE_SECONDS:
                    break
                if done >= elapsed * args.rate:
                    time.sleep(min(0.005, done / args.rate - elapsed))
                    continue
                if args.kind == "products":
                    cur.execute(UPDATE_PRODUCTS, ([draw.randint(1, high) for _ in range(PER_TRANSACTION)],))
                else:
                    cur.execute(INSERT_NOISE, (PER_TRANSACTION,))
                done += cur.rowcount  # a product drawn twice, or gone, is one change fewer
    print(done, flush=True)


if __name__ == "__main__":
    main()
