"""Dagster resources: where the flusso config is, and the connections that override its secrets.

Secrets come in through `dg.EnvVar`, resolved by Dagster at run start, so they never sit in the
definitions, the run config shown in the UI, or asset metadata.
"""

from __future__ import annotations

import os

import dagster as dg
from opensearchpy import OpenSearch
from pydantic import SecretStr

from flusso_engine.backends import RunOptions, opensearch_settings
from flusso_engine.schema import Config, OpenSearchSink, load_config
from flusso_engine.schema.secrets import DATABASE_URL
from flusso_engine.sinks.opensearch.client import connect


class PostgresResource(dg.ConfigurableResource):
    """The source database; `url` (an EnvVar) overrides the config's connection_url."""

    url: str | None = None


class OpenSearchResource(dg.ConfigurableResource):
    """The OpenSearch sinks' address and credentials; each set field overrides the config's."""

    url: str | None = None
    username: str | None = None
    password: str | None = None


class FlussoResource(dg.ConfigurableResource):
    """One flusso deployment: its flusso.toml plus the run options the CLI would take as flags."""

    config_path: str
    postgres: PostgresResource
    opensearch: OpenSearchResource
    index_prefix: str | None = None
    slot: str = "flusso"
    publication: str = "flusso"
    transport: str = "wal"

    def load(self) -> Config:
        """The config, with the resources' values overriding its connection settings."""
        environ = dict(os.environ)
        if self.postgres.url:
            environ[DATABASE_URL] = self.postgres.url
        config = load_config(self.config_path, environ)
        overrides = {what: SecretStr(value) for what in ("url", "username", "password") if (value := getattr(self.opensearch, what))}
        if not overrides:
            return config
        sinks = {name: sink.model_copy(update=overrides) if isinstance(sink, OpenSearchSink) else sink for name, sink in config.sinks.items()}
        return config.model_copy(update={"sinks": sinks})

    def options(self) -> RunOptions:
        return RunOptions(
            slot=self.slot, publication=self.publication, index_prefix=self.index_prefix,
            transport="polling" if self.transport == "polling" else "wal",
        )

    def prefix(self, config: Config) -> str:
        return config.prefix if self.index_prefix is None else self.index_prefix


def opensearch_client(config: Config) -> OpenSearch | None:
    """A client for the first OpenSearch sink, for metadata and checks; None with no such sink."""
    sink = next((s for s in config.sinks.values() if isinstance(s, OpenSearchSink)), None)
    return connect(opensearch_settings(sink)) if sink is not None else None
