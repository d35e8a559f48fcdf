"""How close the OpenSearch sink gets to the node's raw bulk limit.

The raw limit is measured in the same run: the very NDJSON the sink would send, cut into the
same bulk size, posted by minimal loops (plain urllib3, no parsing beyond the `errors` flag)
with 1, 2 and 4 parallel clients; the best of them is the limit. The sink then writes the same
documents through write() + flush(), in flushes of --flush-docs documents, at each concurrency.
Every run loads a fresh index with the settings of a generation being seeded.

    .venv/bin/python -m bench.opensearch_sink [--url http://127.0.0.1:9281] [--docs 200000 | --large]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import urllib3
from opensearchpy import OpenSearch

from dev.home import free_port
from dev.opensearch import LocalOpenSearch
from flusso_engine.model import DocId, Document, IndexSpec, TableRef
from flusso_engine.sinks.opensearch import OpenSearchSettings, OpenSearchSink
from flusso_engine.sinks.opensearch.bulk import encode, plan_chunks
from flusso_engine.sinks.opensearch.lifecycle import index_body

MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "long"}, "name": {"type": "keyword"}, "email": {"type": "keyword"},
        "age": {"type": "integer"}, "city": {"type": "keyword"}, "score": {"type": "double"},
        "active": {"type": "boolean"}, "created_at": {"type": "date"},
    },
}
CITIES = ["Lisbon", "Porto", "Braga", "Coimbra", "Faro", "Aveiro", "Évora"]


def documents(count: int) -> list[Document]:
    """Flat documents as a builder delivers them: JSON bytes, versioned by a growing LSN."""
    return [
        Document(DocId("users", (str(i),)), orjson.dumps({
            "id": i, "name": f"user {i}", "email": f"user{i}@example.com", "age": 18 + i % 70,
            "city": CITIES[i % len(CITIES)], "score": i * 0.37, "active": i % 3 != 0,
            "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z",
        }), 1_000 + i)
        for i in range(count)
    ]


def timed(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def raw_rate(url: str, client: OpenSearch, docs: list[Document], batch_size: int, clients: int, settings: OpenSearchSettings) -> float:
    """Docs/s of the node when fed pre-built bulk bodies by `clients` minimal loops."""
    index = f"bench_raw_{uuid.uuid4().hex[:8]}"
    client.indices.create(index=index, body=index_body(MAPPING, settings))
    bodies = [b"".join(payload for _, payload in chunk) for chunk in plan_chunks([encode(d, index) for d in docs], batch_size, settings.max_bytes)]
    seconds = post_bulk(url, bodies, clients)
    client.indices.delete(index=index)
    return len(docs) / seconds


def post_bulk(url: str, bodies: Sequence[bytes | memoryview], clients: int) -> float:
    """Seconds for `clients` minimal loops to post `bodies` to /_bulk: plain urllib3, nothing
    parsed but the `errors` flag. The raw limit every sink figure is compared against."""
    pool = urllib3.PoolManager(maxsize=clients)
    target = f"{url}/_bulk?filter_path=errors,items.*.status,items.*.error,items.*._id"

    def post(body: bytes | memoryview) -> None:
        response = pool.request("POST", target, body=bytes(body), headers={"content-type": "application/x-ndjson"})
        assert response.status == 200 and not orjson.loads(response.data)["errors"], response.data[:300]

    with ThreadPoolExecutor(clients) as executor:
        return timed(lambda: list(executor.map(post, bodies)))


def sink_rate(url: str, client: OpenSearch, docs: list[Document], batch_size: int, concurrency: int, flush_docs: int) -> float:
    """Docs/s through the sink: encode, chunk, send in parallel, classify, per flush."""
    prefix = f"bench_sink_{uuid.uuid4().hex[:8]}_"
    settings = OpenSearchSettings(url=url, batch_size=batch_size, concurrency=concurrency, number_of_replicas=0)
    sink = OpenSearchSink(settings, prefix)
    sink.ensure_index(IndexSpec("users", TableRef("public", "users"), MAPPING, "be0c0001"))

    def load() -> None:
        for start in range(0, len(docs), flush_docs):
            sink.write(docs[start:start + flush_docs])
            report = sink.flush(caught_up=False)
            assert report.is_clean, report.rejected[:3]

    seconds = timed(load)
    sink.close()
    client.indices.delete(index=f"{prefix}*")
    return len(docs) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an OpenSearch to use (default: start one of our own)")
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--large", action="store_true", help="500k documents")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--flush-docs", type=int, default=20_000, help="documents per sink flush")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4], help="sink concurrencies to try")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per configuration; the best counts")
    args = parser.parse_args()
    count = 500_000 if args.large else args.docs

    node, base = None, None
    url = args.url
    if url is None:
        base = Path(tempfile.mkdtemp(prefix="flusso-bench-os-"))
        node = LocalOpenSearch(base=base, base_port=free_port(9240, 9290, span=2), heap="1g", cluster_name="flusso-bench")
        node.start()
        url = node.url
    try:
        client = OpenSearch(hosts=[url], timeout=120)
        docs = documents(count)
        size = sum(len(d.body or b"") for d in docs) / count
        print(f"{count} flat documents, {size:.0f} bytes of body each; bulk size {args.batch_size}; sink flushes of {args.flush_docs}")
        settings = OpenSearchSettings(url=url, batch_size=args.batch_size, number_of_replicas=0)
        raw_rate(url, client, docs, args.batch_size, 2, settings)  # JVM warm-up (JIT, pools), not reported
        sink_rate(url, client, docs, args.batch_size, 2, args.flush_docs)
        raw: dict[int, float] = {}
        sink: dict[int, float] = {}
        for _ in range(args.rounds):  # interleaved, best of rounds: the machine is shared and noisy
            for n in (1, 2, 4):
                raw[n] = max(raw.get(n, 0.0), raw_rate(url, client, docs, args.batch_size, n, settings))
            for n in args.concurrency:
                sink[n] = max(sink.get(n, 0.0), sink_rate(url, client, docs, args.batch_size, n, args.flush_docs))
        for n, rate in raw.items():
            print(f"raw bulk, {n} client(s): {rate:>9,.0f} docs/s")
        limit = max(raw.values())
        for n, rate in sink.items():
            print(f"sink, concurrency {n}:  {rate:>9,.0f} docs/s = {rate / limit:.0%} of the raw limit")
    finally:
        if node is not None:
            node.stop()
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
