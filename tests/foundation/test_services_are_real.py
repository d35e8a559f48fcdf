"""The test services are the real thing: logical decoding works, OpenSearch indexes and searches."""

from __future__ import annotations

import psycopg
from opensearchpy import OpenSearch, helpers


def test_postgres_runs_with_logical_wal(pg_database_url: str) -> None:
    with psycopg.connect(pg_database_url) as conn:
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)


def test_a_logical_slot_reads_a_committed_change(pg_database_url: str) -> None:
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text)")
        conn.execute("CREATE PUBLICATION probe FOR TABLE items")
        conn.execute("SELECT pg_create_logical_replication_slot('probe_slot', 'pgoutput')")
        conn.execute("INSERT INTO items VALUES (1, 'first')")
        rows = conn.execute(
            "SELECT data FROM pg_logical_slot_get_binary_changes('probe_slot', NULL, NULL, "
            "'proto_version', '1', 'publication_names', 'probe')"
        ).fetchall()
        messages = [bytes(data) for (data,) in rows]
        conn.execute("SELECT pg_drop_replication_slot('probe_slot')")
    kinds = [message[:1] for message in messages]
    assert kinds == [b"B", b"R", b"I", b"C"]
    assert b"first" in messages[2]


def test_opensearch_bulk_indexes_documents_that_search_finds(opensearch_client: OpenSearch, index_prefix: str) -> None:
    index = f"{index_prefix}probe"
    docs = [{"_index": index, "_id": str(n), "_source": {"n": n, "name": f"doc {n}"}} for n in range(50)]
    indexed, errors = helpers.bulk(opensearch_client, docs, refresh=True)
    assert (indexed, errors) == (50, [])
    found = opensearch_client.search(index=index, body={"query": {"match": {"name": "7"}}})
    assert [hit["_id"] for hit in found["hits"]["hits"]] == ["7"]
