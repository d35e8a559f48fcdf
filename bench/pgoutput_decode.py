"""Decoder throughput: flusso's pgoutput decoder against a minimal baseline, same messages.

The messages are real: a temporary slot on the given server records a mixed workload (inserts,
updates with and without old tuples, deletes) and its binary changes are read back once.
The baseline is the least any decoder must do: read the tag and split each tuple into its
column values with bytes slicing, nothing else (no dataclasses, no checks, no UTF-8 decoding).

    python bench/pgoutput_decode.py postgresql://postgres@127.0.0.1:55999/postgres
"""

from __future__ import annotations

import struct
import sys
import time
import uuid

import psycopg
from psycopg import sql

from flusso_engine.capture import pgoutput

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")


def record_messages(dsn: str, rows: int) -> list[bytes]:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        table = sql.Identifier(name)
        conn.execute(sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, name text, price numeric, at timestamptz)").format(table))
        conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(table, table))
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))
        try:
            conn.execute(sql.SQL("INSERT INTO {} SELECT i, 'name ' || i, i * 1.5, now() FROM generate_series(1, %s) i").format(table), (rows,))
            conn.execute(sql.SQL("UPDATE {} SET price = price + 1 WHERE id % 2 = 0").format(table))
            conn.execute(sql.SQL("UPDATE {} SET id = -id WHERE id % 5 = 0").format(table))
            conn.execute(sql.SQL("DELETE FROM {} WHERE id % 3 = 0").format(table))
            data = conn.execute(
                "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL,"
                " 'proto_version', '1', 'publication_names', %s)",
                (name, name),
            ).fetchall()
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))
            conn.execute(sql.SQL("DROP PUBLICATION {}").format(table))
            conn.execute(sql.SQL("DROP TABLE {}").format(table))
    return [bytes(d) for (d,) in data]


def _baseline_tuple(data: bytes, pos: int) -> tuple[list[bytes | None], int]:
    (count,) = _I16.unpack_from(data, pos)
    pos += 2
    values: list[bytes | None] = []
    for _ in range(count):
        kind = data[pos]
        pos += 1
        if kind == 116:
            (length,) = _I32.unpack_from(data, pos)
            values.append(data[pos + 4 : pos + 4 + length])
            pos += 4 + length
        else:
            values.append(None)
    return values, pos


def baseline(data: bytes) -> object:
    tag = data[0]
    if tag == 73:  # I
        return _baseline_tuple(data, 6)[0]
    if tag == 85:  # U
        pos = 6
        if data[5] != 78:
            _, pos = _baseline_tuple(data, 6)
            pos += 1
        return _baseline_tuple(data, pos)[0]
    if tag == 68:  # D
        return _baseline_tuple(data, 6)[0]
    return data.split(b"\0")


def measure(decode: object, messages: list[bytes], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for message in messages:
            decode(message)  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return len(messages) / best


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:55999/postgres"
    messages = record_messages(dsn, rows=50_000)
    ours = measure(pgoutput.decode, messages, repeat=5)
    base = measure(baseline, messages, repeat=5)
    print(f"{len(messages)} real pgoutput messages")
    print(f"flusso decoder : {ours:12,.0f} messages/s")
    print(f"bytes baseline : {base:12,.0f} messages/s  (ours / baseline = {ours / base:.2f})")


if __name__ == "__main__":
    main()
