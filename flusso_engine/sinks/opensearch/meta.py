"""The sink's durable state per logical index, kept in `{prefix}flusso_meta`.

Living in OpenSearch next to the data means the state survives process restarts and moves with
the cluster, and a different prefix has a different meta index, so deployments never share it.
One document per logical index (`_id` = name).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from opensearchpy import OpenSearch
from opensearchpy.exceptions import RequestError

from flusso_engine.sinks.opensearch.names import Generation, Names
from flusso_engine.sinks.opensearch.retry import Backoff, call_with_retries


@dataclass(frozen=True, slots=True)
class IndexState:
    """Which generation serves reads, which one is being built, and how far its build got.

    `serving` is seeded and holds the aliases; `building` is being seeded (first creation,
    schema change or reindex) and receives every write alongside `serving`. `last_generation`
    only grows, so a number is never reused even after its index was deleted. `checkpoint` is
    opaque JSON the engine may keep for the build in progress. `building_since` is when the
    build started (epoch seconds): its backfill must wait until every other process's sink can
    have noticed the build (see OpenSearchSink.reindex).

    The lifecycle keeps one invariant for sinks in other processes: the state names only
    generations that exist (a generation is created before it is recorded, and deleted after
    the state stopped naming it).
    """

    serving: Generation | None = None
    building: Generation | None = None
    last_generation: int = 0
    checkpoint: Any = None
    building_since: float | None = None

    @property
    def seeded(self) -> bool:
        return self.serving is not None and self.building is None

    @property
    def targets(self) -> tuple[Generation, ...]:
        """Where writes go: the serving generation and, while one is built, the new one."""
        return tuple(g for g in (self.serving, self.building) if g is not None)

    def start_building(self, generation: Generation, now: float) -> IndexState:
        return replace(self, building=generation, last_generation=generation.number, checkpoint=None, building_since=now)

    def without_build(self) -> IndexState:
        return replace(self, building=None, checkpoint=None, building_since=None)

    def promoted(self) -> IndexState:
        return replace(self.without_build(), serving=self.building)

    def to_json(self) -> dict[str, Any]:
        return {
            "serving": _generation_json(self.serving),
            "building": _generation_json(self.building),
            "last_generation": self.last_generation,
            "checkpoint": self.checkpoint,
            "building_since": self.building_since,
        }

    @classmethod
    def from_json(cls, source: dict[str, Any]) -> IndexState:
        return cls(
            serving=_generation(source.get("serving")),
            building=_generation(source.get("building")),
            last_generation=int(source.get("last_generation", 0)),
            checkpoint=source.get("checkpoint"),
            building_since=source.get("building_since"),
        )


def _generation_json(generation: Generation | None) -> dict[str, Any] | None:
    return None if generation is None else {"hash": generation.hash, "number": generation.number}


def _generation(source: dict[str, Any] | None) -> Generation | None:
    return None if source is None else Generation(source["hash"], int(source["number"]))


@dataclass
class MetaStore:
    client: OpenSearch
    names: Names
    backoff: Backoff
    number_of_replicas: int = 1
    _ready: bool = field(default=False, init=False)

    def load(self, name: str) -> IndexState | None:
        found = call_with_retries(
            lambda: self.client.get(index=self.names.meta_index, id=name, ignore=404),  # absent: a new index
            self.backoff, f"reading the state of index {name!r}",
        )
        return IndexState.from_json(found["_source"]) if found.get("found") else None

    def load_many(self, names: list[str]) -> dict[str, IndexState]:
        """The states of `names` in one request; a name without a state is left out."""
        found = call_with_retries(
            lambda: self.client.mget(index=self.names.meta_index, body={"ids": names}),
            self.backoff, f"reading the state of {len(names)} index(es)",
        )
        return {doc["_id"]: IndexState.from_json(doc["_source"]) for doc in found["docs"] if doc.get("found")}

    def save(self, name: str, state: IndexState) -> None:
        self._ensure()
        call_with_retries(
            lambda: self.client.index(index=self.names.meta_index, id=name, body=state.to_json()),
            self.backoff, f"saving the state of index {name!r}",
        )

    def _ensure(self) -> None:
        """Create the meta index with `dynamic: false`, so opaque checkpoints never grow a mapping."""
        if self._ready:
            return
        body = {
            "settings": {"index": {"number_of_shards": 1, "number_of_replicas": self.number_of_replicas}},
            "mappings": {"dynamic": False, "properties": {}},
        }

        def create() -> None:
            try:
                self.client.indices.create(index=self.names.meta_index, body=body)
            except RequestError as error:
                if error.error != "resource_already_exists_exception":
                    raise

        call_with_retries(create, self.backoff, f"creating {self.names.meta_index}")
        self._ready = True
