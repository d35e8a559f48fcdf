"""How close the OpenSearch sink gets to the node's raw bulk limit (issue 5: 500k flat documents).

The raw limit is measured in the same run: the very NDJSON the sink would send, cut into the
same bulk size, posted by minimal loops (plain urllib3, no parsing beyond the `errors` flag)
with 1, 2 and 4 parallel clients; the best of them (each the median of its rounds) is the limit.
The sink then writes the same documents through write() + flush(), in flushes of --flush-docs
documents, each flush completed after the next one's documents are written, at each concurrency.
Every run loads a fresh index with the settings of a generation being seeded. The raw bodies are
encoded once and reused by every raw run, so 500k documents cost one encoding, not one per run.

    .venv/bin/python -m bench.opensearch_sink [--url http://127.0.0.1:9281] [--docs 200000 | --large] [--rounds R]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson
import urllib3
from opensearchpy import OpenSearch

from dev.home import free_port
from dev.opensearch import LocalOpenSearch
from flusso_engine.collector import settle_for_streaming
from flusso_engine.model import DocId, Document, IndexSpec, TableRef
from flusso_engine.sinks.opensearch import OpenSearchSettings, OpenSearchSink
from flusso_engine.sinks.opensearch.bulk import encode, plan_chunks
from flusso_engine.sinks.opensearch.lifecycle import index_body
from flusso_engine.sinks.protocol import Flushing

MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "long"}, "name": {"type": "keyword"}, "email": {"type": "keyword"},
        "age": {"type": "integer"}, "city": {"type": "keyword"}, "score": {"type": "double"},
        "active": {"type": "boolean"}, "created_at": {"type": "date"},
    },
}
CITIES = ["Lisbon", "Porto", "Braga", "Coimbra", "Faro", "Aveiro", "Évora"]
RAW_INDEX = "bench_sink_raw"
CLIENTS = (1, 2, 4)


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


def raw_bodies(docs: list[Document], settings: OpenSearchSettings) -> list[bytes]:
    """The bulk bodies the sink would send for `docs` into RAW_INDEX, cut as it cuts them."""
    actions = (encode(document, RAW_INDEX) for document in docs)
    return [b"".join(payload for _, payload in chunk) for chunk in plan_chunks(actions, settings.batch_size, settings.max_bytes)]


def raw_rate(url: str, client: OpenSearch, bodies: list[bytes], documents: int, clients: int, settings: OpenSearchSettings) -> float:
    """Docs/s of the node when fed pre-built bulk bodies by `clients` minimal loops."""
    client.indices.delete(index=RAW_INDEX, ignore_unavailable=True)
    client.indices.create(index=RAW_INDEX, body=index_body(MAPPING, settings))
    seconds = post_bulk(url, bodies, clients)
    client.indices.delete(index=RAW_INDEX)
    return documents / seconds


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
        """Each flush completes after the next one's documents are written, as the engine's
        delivery does while the worker keeps it fed."""
        under_way: list[Flushing] = []
        for start in range(0, len(docs), flush_docs):
            sink.write(docs[start:start + flush_docs])
            under_way.append(sink.flush(caught_up=False))
            if len(under_way) > 1:
                report = under_way.pop(0).result()
                assert report.is_clean, report.rejected[:3]
        report = under_way.pop().result()
        assert report.is_clean, report.rejected[:3]

    seconds = timed(load)
    sink.close()
    client.indices.delete(index=f"{prefix}*")
    return len(docs) / seconds


@dataclass(frozen=True)
class SinkRates:
    """Docs/s of every round, by client count (raw) and by sink concurrency.

    A configuration's figure is the median of its rounds, not the best. On this shared machine
    a round's rate swings by a quarter either way, and the best of more draws is higher by
    chance alone: the raw side has three client counts to the sink's one, so comparing bests
    would charge the sink with the noise. A median of each side's own rounds does not.
    """

    documents: int
    raw_rounds: dict[int, list[float]]
    sink_rounds: dict[int, list[float]]

    @property
    def raw(self) -> dict[int, float]:
        return {n: statistics.median(rates) for n, rates in self.raw_rounds.items()}

    @property
    def sink(self) -> dict[int, float]:
        return {n: statistics.median(rates) for n, rates in self.sink_rounds.items()}

    @property
    def limit(self) -> float:
        return max(self.raw.values())

    def rounds(self) -> str:
        """Every round's rate, for the record: `raw 1: 30,514 / 28,310; ...; sink 3: ...`."""
        sides = [("raw", self.raw_rounds), ("sink", self.sink_rounds)]
        return "; ".join(f"{side} {n}: " + " / ".join(f"{rate:,.0f}" for rate in rates)
                         for side, by_n in sides for n, rates in by_n.items())


def measure(url: str, count: int, *, rounds: int, batch_size: int = 1000, flush_docs: int = 20_000,
            concurrencies: Sequence[int] = CLIENTS) -> SinkRates:
    """Raw and sink rates for `count` flat documents, interleaved round by round so that the
    machine's slow and fast minutes reach both sides, after a warm-up of the node's JVM."""
    client = OpenSearch(hosts=[url], timeout=120)
    docs = documents(count)
    settings = OpenSearchSettings(url=url, batch_size=batch_size, number_of_replicas=0)
    bodies = raw_bodies(docs, settings)
    settle_for_streaming()  # as build_engine does for the sink's process; this input gets frozen too
    raw_rate(url, client, bodies, count, 2, settings)  # JVM warm-up (JIT, pools), not reported
    sink_rate(url, client, docs, batch_size, 2, flush_docs)
    raw: dict[int, list[float]] = {n: [] for n in CLIENTS}
    sink: dict[int, list[float]] = {n: [] for n in concurrencies}
    for _ in range(rounds):
        for n in CLIENTS:
            raw[n].append(raw_rate(url, client, bodies, count, n, settings))
        for n in concurrencies:
            sink[n].append(sink_rate(url, client, docs, batch_size, n, flush_docs))
    return SinkRates(count, raw, sink)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an OpenSearch to use (default: start one of our own)")
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--large", action="store_true", help="500k documents")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--flush-docs", type=int, default=20_000, help="documents per sink flush")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4], help="sink concurrencies to try")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per configuration; the median counts")
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
        print(f"{count} flat documents; bulk size {args.batch_size}; sink flushes of {args.flush_docs}; "
              f"median of {args.rounds} round(s)")
        rates = measure(url, count, rounds=args.rounds, batch_size=args.batch_size, flush_docs=args.flush_docs,
                        concurrencies=args.concurrency)
        for n, rate in rates.raw.items():
            print(f"raw bulk, {n} client(s): {rate:>9,.0f} docs/s")
        for n, rate in rates.sink.items():
            print(f"sink, concurrency {n}:  {rate:>9,.0f} docs/s = {rate / rates.limit:.0%} of the raw limit")
        print(f"rounds: {rates.rounds()}")
    finally:
        if node is not None:
            node.stop()
        if base is not None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
