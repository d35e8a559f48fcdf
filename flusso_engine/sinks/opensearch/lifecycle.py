"""Generations of a logical index: create, build, promote, drop, without a read gap.

Reads only ever see a seeded generation once one exists: a schema change or a reindex builds a
new generation while the aliases stay on the serving one, and promotion moves both aliases in
one atomic `_aliases` call before the superseded generations are deleted. Only a brand-new
logical index, with nothing to serve yet, gets its aliases at once (an empty result beats a 404).
A generation being built is tuned for bulk loading (no refresh, no replicas) until promoted.

Without replicas, a lost node takes the documents on its shards with it, and nothing tells which
ones. So ensure gives up a generation being built that is red (a primary with no active copy,
even after OpenSearch waited for one), as it gives up the build of a schema no longer wanted: a
first seed or a schema change then starts a fresh generation, which the backfill fills again on
the nodes that are left; a reindex of the serving schema is dropped, and its promotion fails.
Only the generation a backfill filled may be promoted (or checkpointed), because one that replaced
it meanwhile, here or in another process, holds part of that backfill's documents at best.

Sinks in other processes write to the generations the meta state names, each through its write
alias; so a generation is created (with that alias) before the state names it, and deleted only
after the state stopped naming it. A write that still finds its generation gone re-reads a state
that has moved on (see sink.py).
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import orjson
from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, RequestError

from flusso_engine.errors import SinkError
from flusso_engine.model import IndexSpec
from flusso_engine.sinks.opensearch.client import OpenSearchSettings, server_wait
from flusso_engine.sinks.opensearch.meta import IndexState, MetaStore
from flusso_engine.sinks.opensearch.names import Generation, Names
from flusso_engine.sinks.opensearch.retry import Backoff, call_with_retries


def content_hash(spec: IndexSpec) -> str:
    """The spec's content hash, or one of its mapping when the builder gave none."""
    if spec.content_hash:
        return spec.content_hash.lower()
    return hashlib.sha256(orjson.dumps(spec.mapping, option=orjson.OPT_SORT_KEYS)).hexdigest()[:8]


def index_body(mapping: dict[str, Any], settings: OpenSearchSettings) -> dict[str, Any]:
    """The create-index body for a generation about to be seeded.

    `mapping` is either a full body (`settings` and/or `mappings`) or just the mappings. Shards
    come from the deployment; refresh and replicas start at their bulk-loading values.
    """
    body = copy.deepcopy(mapping) if {"settings", "mappings"} & mapping.keys() else {"mappings": copy.deepcopy(mapping)}
    index_settings = body.setdefault("settings", {})
    overrides = {"number_of_shards": settings.number_of_shards, "number_of_replicas": 0, "refresh_interval": "-1"}
    for key in overrides:  # one spelling per setting, or OpenSearch refuses the duplicate
        index_settings.pop(key, None)
        index_settings.pop(f"index.{key}", None)
    index_settings.setdefault("index", {}).update(overrides)
    return body


class Lifecycle:
    """The index-level operations of the sink; each step is idempotent, so a crash between two
    of them is repaired by running the same operation again on the next start."""

    def __init__(self, client: OpenSearch, names: Names, meta: MetaStore, settings: OpenSearchSettings, backoff: Backoff) -> None:
        self._client = client
        self._names = names
        self._meta = meta
        self._settings = settings
        self._backoff = backoff

    def ensure(self, spec: IndexSpec) -> IndexState:
        """Bring `spec.name` to a state where the spec's schema is served or being built."""
        name, wanted = spec.name, content_hash(spec)
        before = self._meta.load(name) or IndexState()
        state = before
        if state.building is not None and (state.building.hash != wanted or self._lost_shards(name, state.building)):
            state = state.without_build()  # of a schema now gone, or red (module doc): deleted once unrecorded
        if state.serving is not None and not self._exists(self._names.physical(name, state.serving)):
            state = replace(state, serving=None)  # deleted behind our back: rebuild it
        if state.building is None and (state.serving is None or state.serving.hash != wanted):
            state = state.start_building(Generation(wanted, self._next_number(name, state)), time.time())
        if state.building is not None:
            self._create(name, state.building, spec.mapping)
        if state != before:
            self._meta.save(name, state)
        if before.building is not None and before.building != state.building:
            self._delete(self._names.physical(name, before.building))
        self._add_missing_write_aliases(name, state)
        self._point_aliases(name, state.serving or state.building)
        return state

    def reindex(self, name: str, spec: IndexSpec) -> IndexState:
        """Start a new generation of the serving schema; a build already under way is kept."""
        state = self._meta.load(name)
        if state is None or state.serving is None:
            raise SinkError(f"cannot reindex {name!r}: it was never created and seeded here (prefix {self._names.prefix!r})")
        if state.building is not None:
            self._create(name, state.building, spec.mapping)  # repairs a build whose index went missing
            return state
        building = Generation(state.serving.hash, self._next_number(name, state))
        self._create(name, building, spec.mapping)
        state = state.start_building(building, time.time())
        self._meta.save(name, state)
        return state

    def promote(self, name: str, generation: Generation | None) -> IndexState:
        """Make `generation`, the one the caller's backfill filled, the serving one, and drop every
        other generation. None (nothing was being built when the caller ensured the index) and a
        generation already serving leave the state as it is.

        The state moves before the deletion, so a sink in another process whose write finds an
        old generation gone re-reads a state that no longer names it.
        """
        state = self._meta.load(name)
        if state is None:
            raise SinkError(f"cannot mark {name!r} seeded: it was never created (prefix {self._names.prefix!r})")
        if generation is None or generation == state.serving:
            return state
        _check_building(name, state, generation)
        built = self._names.physical(name, generation)
        self._call(
            lambda: self._client.indices.put_settings(index=built, body={"index": {
                "refresh_interval": self._settings.refresh_interval,
                "number_of_replicas": self._settings.number_of_replicas,
            }}),
            f"restoring the settings of {built}",
        )
        self.refresh([built])
        self._point_aliases(name, state.building)
        state = state.promoted()
        self._meta.save(name, state)
        superseded = [index for index in self._generations(name) if index != built]
        if superseded:
            self._call(
                lambda: self._client.indices.delete(index=",".join(superseded), ignore_unavailable=True),
                f"deleting superseded generations of {name!r}",
            )
        return state

    def building(self, name: str, generation: Generation) -> IndexState:
        """The state of `name`, provided `generation` is still the one being built."""
        state = self._meta.load(name) or IndexState()
        _check_building(name, state, generation)
        return state

    def refresh(self, indexes: list[str]) -> None:
        self._call(
            lambda: self._client.indices.refresh(index=",".join(indexes), ignore_unavailable=True),
            f"refreshing {', '.join(indexes)}",
        )

    def _point_aliases(self, name: str, generation: Generation | None) -> None:
        """Both read aliases onto `generation` and off any other generation, in one atomic step."""
        if generation is None:
            return
        target = self._names.physical(name, generation)
        aliases = {self._names.convenience_alias(name), self._names.hash_alias(name, generation.hash)}
        held = self._generations(name)
        removes = [
            {"remove": {"index": index, "alias": alias}}
            for index, index_aliases in held.items() if index != target
            for alias in sorted(index_aliases & aliases)
        ]
        if not removes and aliases <= held.get(target, set()):
            return
        adds = [{"add": {"index": target, "alias": alias}} for alias in sorted(aliases)]
        self._call(lambda: self._client.indices.update_aliases(body={"actions": removes + adds}), f"moving the aliases of {name!r}")

    def _generations(self, name: str) -> dict[str, set[str]]:
        """Every physical generation of `name` under this prefix (open or closed), with its aliases."""
        found = self._call(
            lambda: self._client.indices.get_alias(index=self._names.pattern(name), expand_wildcards="all"),
            f"listing the generations of {name!r}",
            missing={},
        )
        return {
            index: set(entry.get("aliases", {}))
            for index, entry in found.items() if self._names.parse(name, index) is not None
        }

    def _next_number(self, name: str, state: IndexState) -> int:
        """One more than any number ever used: recorded in the meta, or still present as an index."""
        parsed = (self._names.parse(name, index) for index in self._generations(name))
        return max([state.last_generation, *(generation.number for generation in parsed if generation)]) + 1

    def _create(self, name: str, generation: Generation, mapping: dict[str, Any]) -> None:
        """Create a generation together with its write alias, in one step."""
        index = self._names.physical(name, generation)
        body = index_body(mapping, self._settings) | {"aliases": {self._names.write_alias(name, generation): {}}}

        def create() -> None:
            try:
                self._client.indices.create(index=index, body=body)
            except RequestError as error:
                if error.error != "resource_already_exists_exception":
                    raise

        self._call(create, f"creating index {index}")

    def _add_missing_write_aliases(self, name: str, state: IndexState) -> None:
        """Give a generation created before write aliases existed its own, or no write could reach it."""
        held = self._generations(name)
        adds = [
            {"add": {"index": index, "alias": alias}}
            for index, alias in ((self._names.physical(name, g), self._names.write_alias(name, g)) for g in state.targets)
            if index in held and alias not in held[index]
        ]
        if adds:
            self._call(lambda: self._client.indices.update_aliases(body={"actions": adds}), f"adding the write aliases of {name!r}")

    def _lost_shards(self, name: str, generation: Generation) -> bool:
        """Whether the generation has a primary with no active copy, after OpenSearch waited for
        one: a cluster that is only starting up recovers its primaries within the wait."""
        index = self._names.physical(name, generation)
        health = self._call(
            lambda: self._client.cluster.health(
                index=index, wait_for_status="yellow", timeout=server_wait(self._settings.timeout_secs),
                request_timeout=self._settings.timeout_secs,  # given, so `timeout` reaches OpenSearch
                filter_path="status", ignore=408,  # 408: the wait ran out; the body still has the status
            ),
            f"checking the health of {index}",
        )
        return health["status"] == "red"

    def _exists(self, index: str) -> bool:
        return bool(self._call(lambda: self._client.indices.exists(index=index), f"checking index {index}"))

    def _delete(self, index: str) -> None:
        self._call(lambda: self._client.indices.delete(index=index, ignore_unavailable=True), f"deleting {index}")

    def _call(self, call: Callable[[], Any], what: str, missing: Any = None) -> Any:
        """An administrative call with retries; `missing` stands in for a 404 when given."""
        def guarded() -> Any:
            try:
                return call()
            except NotFoundError:
                if missing is None:
                    raise
                return missing

        return call_with_retries(guarded, self._backoff, what)


def _check_building(name: str, state: IndexState, generation: Generation) -> None:
    """Raise a transient SinkError unless `generation` is still the one being built.

    A generation given up meanwhile (see the module doc) must not be promoted or checkpointed by
    the backfill that was filling it: that backfill has to run again, on a generation of its own.
    """
    if state.building != generation:
        raise SinkError(
            f"generation {generation.number} of {name!r} was given up while it was being built "
            "(it lost shards with a node, or the schema changed), so its backfill must run again", transient=True,
        )
