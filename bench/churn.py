"""A minimal change load for B4, B6 and B7, in a process of its own (no GIL shared with the engine).

    python -m bench.churn DSN {products|noise} --rate R --duration S [--seed N]

`products` updates random products (each statement one row: one change for the flat index);
`noise` inserts into bench_noise, a table no index reads. Changes are paced like the demo's load
(change i due at i / rate s), ten to a transaction. Prints the changes made.
"""

from __future__ import annotations

import argparse
import random
import time

import psycopg

PER_TRANSACTION = 10
UPDATE_PRODUCT = "UPDATE products SET price = price + 0.01 WHERE id = %s"
INSERT_NOISE = "INSERT INTO bench_noise (payload) VALUES (%s)"
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
        statement = UPDATE_PRODUCT if args.kind == "products" else INSERT_NOISE
        start = time.monotonic()
        limit = int(args.rate * args.duration)
        with conn.cursor() as cur:
            while done < limit:
                elapsed = time.monotonic() - start
                if elapsed > args.duration:
                    break
                if done >= elapsed * args.rate:
                    time.sleep(min(0.005, done / args.rate - elapsed))
                    continue
                with conn.transaction():
                    values = [(draw.randint(1, high),) if args.kind == "products" else ("x" * 100,) for _ in range(PER_TRANSACTION)]
                    cur.executemany(statement, values)
                done += PER_TRANSACTION
    print(done, flush=True)


if __name__ == "__main__":
    main()
