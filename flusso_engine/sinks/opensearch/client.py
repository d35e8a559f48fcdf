"""Connection settings and the opensearch-py client built from them.

The settings are plain values so that the CLI, the Dagster resource and the tests can all build
them without knowing opensearch-py; the password is kept out of repr so it never reaches a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opensearchpy import OpenSearch


@dataclass(frozen=True, slots=True)
class OpenSearchSettings:
    """Where OpenSearch is and how the sink talks to it."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_verify: bool = True
    #: Documents per bulk request, and bytes per bulk request; whichever is reached first.
    batch_size: int = 1000
    max_bytes: int = 10 * 1024 * 1024
    timeout_secs: float = 30.0
    #: Retries of a transient failure (connection, 429, 502-504) before a flush fails.
    max_retries: int = 3
    pipeline: str | None = None
    number_of_shards: int = 1
    number_of_replicas: int = 1
    refresh_interval: str = "10s"
    #: Bulk requests in flight at once; more than one keeps the node's write threads busy while
    #: the client serializes and parses. 3 on a 2-core node: 500k flat documents in flushes of
    #: 20k ran at 83 % (2), 87 % (3) and 86 % (4) of the raw limit (bench/opensearch_sink.py,
    #: 2026-11-30), and at 92 % (3, the median of three rounds) once encoding got cheaper.
    concurrency: int = 3
    #: How stale a sink's view of its generations may get: another process's reindex reaches
    #: this sink's writes within this time (one meta read per interval, taken before a write).
    state_refresh_seconds: float = 5.0
    #: A caught-up flush is searchable within this time (or the last refresh's length, when that
    #: was longer) plus a refresh: at once when it is the first for this long, else from the
    #: refresh thread (see visibility.py); 0: every time.
    visibility_seconds: float = 1.0

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_bytes", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"OpenSearchSettings.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_retries", "state_refresh_seconds", "visibility_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"OpenSearchSettings.{name} must not be negative, got {getattr(self, name)}")


def server_wait(timeout_secs: float) -> str:
    """How long OpenSearch may wait for a shard copy before it answers (a bulk request's
    `timeout`, a health check's wait): half the client's timeout.

    OpenSearch waits a minute by default for a primary that is not active. Past the client's
    timeout that wait ends in a dropped request that says nothing; within it, the answer names
    the shard that is missing (see bulk.py), and a lost generation being built is replaced.
    """
    return f"{int(timeout_secs * 500)}ms"


def connect(settings: OpenSearchSettings) -> OpenSearch:
    """A client whose connection pool holds one keep-alive connection per concurrent request.

    The transport's own retries are off: the sink retries itself, with jittered backoff and
    Retry-After, and knows which failures are worth retrying.
    """
    auth = (settings.username, settings.password or "") if settings.username else None
    return OpenSearch(
        hosts=[settings.url],
        http_auth=auth,
        verify_certs=settings.tls_verify,
        ssl_show_warn=settings.tls_verify,
        timeout=settings.timeout_secs,
        max_retries=0,
        retry_on_timeout=False,
        pool_maxsize=settings.concurrency + 2,
    )
