"""Bulk writes: pre-serialized NDJSON, grouped into capped requests, classified item by item.

A document body arrives as JSON bytes and goes into the request as-is; only the action line is
built here. Every action carries the document's source position as an external version
(`external_gte`), so whichever of two writes of one document lands last, the one built from the
newer state stands. That is also what makes it safe to keep several requests in flight (see
stream.py): requests may land in any order.

Every request carries `require_alias=true` and targets write aliases (names.py), so a write to a
generation another process has deleted fails as "gone" instead of auto-creating the index with
a dynamic mapping; the sink sends such documents again to its current generations.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from opensearchpy.connection import Connection
from opensearchpy.exceptions import ConnectionError as TransportConnectionError
from opensearchpy.exceptions import TransportError

from flusso_engine.errors import FlushError
from flusso_engine.model import DocId, Document, Rejection
from flusso_engine.sinks.opensearch.client import server_wait
from flusso_engine.sinks.opensearch.retry import TRANSIENT_STATUSES, Backoff, describe, retry_after_secs

#: Only what classification needs comes back, so a 1000-item response stays a few kilobytes.
FILTER_PATH = "errors,items.*.status,items.*.error,items.*._id"
NDJSON = {"content-type": "application/x-ndjson"}

#: Item statuses that mean "the node was busy": the item is sent again after a pause.
RETRY_ITEM_STATUSES = frozenset({429, 503})

#: Item errors that concern the whole index, not the document: the flush fails instead of
#: quarantining documents that did nothing wrong, and instead of retrying item by item. It fails
#: as transient when the status says "later" (a block while no cluster manager is elected, a
#: full disk). `unavailable_shards_exception` comes only after OpenSearch itself waited for the
#: shard's primary (client.server_wait): the node holding it is gone. A serving generation gets
#: it back when the node returns, and a generation being built (no replicas) is replaced by the
#: next start (lifecycle.py), so waiting here any longer would only hold up both.
INDEX_FAILURES = frozenset({"index_closed_exception", "cluster_block_exception", "unavailable_shards_exception"})

#: The item's write alias resolves to nothing: its generation was deleted (the document is sent
#: again to the current generations; a write alias never auto-creates an index).
GONE = "index_not_found_exception"


#: OpenSearch refuses a longer `_id` for the whole request, so such a document is refused here.
MAX_ID_BYTES = 512


def id_too_long(document: Document) -> Rejection | None:
    """A rejection for a document whose id OpenSearch would refuse, so it cannot poison a batch."""
    text = document.id.text
    if len(text) * 4 <= MAX_ID_BYTES:  # no UTF-8 character takes more than 4 bytes
        return None
    size = len(text.encode())
    if size <= MAX_ID_BYTES:
        return None
    return Rejection(document.id, 400, f"document id is {size} bytes; OpenSearch allows at most {MAX_ID_BYTES}")


#: One bulk operation on one physical index: the document and its NDJSON (the action line and,
#: for an upsert, the body). A bare tuple because one is made per document per target per flush,
#: and a tuple is the cheapest record Python makes; the document tells a delete from an upsert.
Action = tuple[Document, bytes]


@functools.lru_cache(maxsize=256)
def _templates(index: str) -> tuple[bytes, bytes]:
    """The NDJSON of an upsert and of a delete in physical index `index`, as %-templates of
    (quoted id, version[, body])."""
    quoted = orjson.dumps(index).replace(b"%", b"%%")
    tail = b'"_id":%s,"version":%d,"version_type":"external_gte"}}\n'
    return b'{"index":{"_index":' + quoted + b"," + tail + b"%s\n", b'{"delete":{"_index":' + quoted + b"," + tail


def encode(document: Document, index: str) -> Action:
    """The action line (and, for an upsert, the body) for `document` in physical index `index`.

    One %-format of a template made once per index: this runs once per document per target on
    the client's share of a CPU the node also needs, and it measured 1.3 µs against 1.8 for
    joining the parts.
    """
    upsert, delete = _templates(index)
    body = document.body
    if body is None:
        return document, delete % (orjson.dumps(document.id.text), document.version)
    if body.find(b"\n") >= 0:  # a json column kept its line breaks; NDJSON needs the body on one line
        body = orjson.dumps(orjson.loads(body))
    return document, upsert % (orjson.dumps(document.id.text), document.version, body)


class Chunker:
    """Groups actions into requests of at most `max_docs` actions and `max_bytes` bytes.

    An action bigger than `max_bytes` on its own goes alone rather than failing the flush: the
    node, not the client, decides whether it is too big (its answer becomes a rejection).
    """

    def __init__(self, max_docs: int, max_bytes: int) -> None:
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self._current: list[Action] = []
        self._size = 0

    def extend(self, actions: Iterable[Action]) -> Iterator[list[Action]]:
        """Take `actions`, yielding each request as soon as the next action does not fit in it.

        One loop over many actions rather than a call per action: this runs once per document
        on the client's share of a CPU the node also needs.
        """
        max_docs, max_bytes = self.max_docs, self.max_bytes
        for action in actions:
            length = len(action[1])
            if self._current and (len(self._current) >= max_docs or self._size + length > max_bytes):
                yield self.take()
            self._current.append(action)
            self._size += length

    def take(self) -> list[Action]:
        """The actions gathered so far (possibly none), starting a new request."""
        current, self._current, self._size = self._current, [], 0
        return current


def plan_chunks(actions: Iterable[Action], max_docs: int, max_bytes: int) -> Iterator[list[Action]]:
    """Every request `Chunker` makes of `actions`, in order."""
    chunker = Chunker(max_docs, max_bytes)
    yield from chunker.extend(actions)
    rest = chunker.take()
    if rest:
        yield rest


#: A refused document with the reason; the document says whether it was an upsert or a delete.
Refusal = tuple[Document, Rejection]

#: A document whose target was gone, with that target's name.
Orphan = tuple[Document, str]


@dataclass(slots=True)
class Outcome:
    """What requests left undone: documents refused for good, documents to send elsewhere, and
    documents that lost to a newer version already indexed (done, but the body there is not theirs)."""

    refused: list[Refusal] = field(default_factory=list)
    orphaned: list[Orphan] = field(default_factory=list)
    superseded: list[DocId] = field(default_factory=list)

    def extend(self, other: Outcome) -> None:
        self.refused.extend(other.refused)
        self.orphaned.extend(other.orphaned)
        self.superseded.extend(other.superseded)


class BulkWriter:
    """Sends one request's actions and classifies the answer, retrying what is worth retrying.

    Thread-safe: the connection's pool hands each concurrent request its own keep-alive socket.
    """

    def __init__(self, connection: Connection, *, backoff: Backoff, timeout_secs: float, pipeline: str | None = None) -> None:
        self._connection = connection
        self._backoff = backoff
        self._timeout = timeout_secs
        self._params = {"filter_path": FILTER_PATH, "require_alias": "true", "timeout": server_wait(timeout_secs)} | (
            {"pipeline": pipeline} if pipeline else {}
        )

    def deliver(self, chunk: list[Action]) -> Outcome:
        """One request to the end: busy items are sent again until they land or retries run out."""
        outcome = Outcome()
        pending = chunk
        for attempt in range(self._backoff.max_retries + 1):
            response = self._post(b"".join([payload for _, payload in pending]))
            if not response.get("errors"):
                return outcome
            busy: list[Action] = []
            for (document, payload), item in zip(pending, response["items"], strict=True):
                result = next(iter(item.values()))
                verdict = classify(document, result)
                if verdict == "busy":
                    busy.append((document, payload))
                elif verdict == "gone":
                    outcome.orphaned.append((document, result["error"].get("index", "")))
                elif verdict == "rejected":
                    outcome.refused.append((document, Rejection(document.id, result["status"], _reason(result))))
                elif verdict == "superseded":
                    outcome.superseded.append(document.id)
            if not busy:
                return outcome
            pending = busy
            if attempt < self._backoff.max_retries:
                self._backoff.sleep(attempt)
        raise FlushError(
            f"OpenSearch stayed busy: {len(pending)} document(s) still refused with 429/503 after "
            f"{self._backoff.max_retries} retries", transient=True,
        )

    def _post(self, body: bytes) -> dict[str, Any]:
        """POST one bulk body, retrying whole-request transient failures; FlushError otherwise."""
        attempt = 0
        while True:
            retry_after = None
            try:
                status, headers, raw = self._connection.perform_request(
                    "POST", "/_bulk", params=self._params, body=body, timeout=self._timeout,
                    ignore=TRANSIENT_STATUSES, headers=NDJSON,
                )
            except TransportConnectionError as error:
                failure = describe(error)
            except TransportError as error:
                raise FlushError(f"OpenSearch refused a bulk request: {describe(error)}") from error
            else:
                if status not in TRANSIENT_STATUSES:
                    return orjson.loads(raw)
                failure, retry_after = f"HTTP {status}", retry_after_secs(headers.get("retry-after"))
            if attempt >= self._backoff.max_retries:
                raise FlushError(f"bulk request failed after {attempt + 1} attempt(s): {failure}", transient=True)
            self._backoff.sleep(attempt, retry_after)
            attempt += 1


def classify(document: Document, result: dict[str, Any]) -> Literal["ok", "superseded", "busy", "gone", "rejected"]:
    """The verdict on one item; raises FlushError for an index-wide failure. "ok" and
    "superseded" both need nothing more."""
    status = result["status"]
    if status < 300:
        return "ok"
    error_type = (result.get("error") or {}).get("type", "")
    if error_type == GONE:
        return "gone"
    if error_type in INDEX_FAILURES:
        raise FlushError(f"OpenSearch cannot write to its index: {_reason(result)}", transient=status in TRANSIENT_STATUSES)
    if status in RETRY_ITEM_STATUSES:
        return "busy"
    if document.body is None and status == 404:
        return "ok"  # already gone: the delete's goal holds
    if status == 409 and error_type == "version_conflict_engine_exception":
        return "superseded"  # a newer version stands: this write was stale, and losing is its purpose
    return "rejected"


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if not error:
        return f"rejected with status {result['status']}"
    reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
    cause = error.get("caused_by")
    return f"{reason} (caused by {cause.get('type')}: {cause.get('reason')})" if cause else reason
