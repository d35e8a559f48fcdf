"""The loaded configuration: every secret resolved, every schema parsed, every mapping derived.

One immutable object the rest of flusso reads. Secrets are pydantic SecretStr, so printing,
logging or dumping a Config never shows them; code that connects calls `get_secret_value()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr

from flusso_engine.model import IndexSpec, TableRef
from flusso_engine.schema.config_toml import OnError, ServerToml
from flusso_engine.schema.index_yaml import IndexSchema
from flusso_engine.schema.mapping import MappingOptions
from flusso_engine.schema.primitives import Model


def masked_url(url: str) -> str:
    """The URL with any password replaced, for messages and `check` output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class PostgresSource(Model):
    url: SecretStr
    manage_publication: bool = True

    @property
    def display_url(self) -> str:
        return masked_url(self.url.get_secret_value())


class OpenSearchSink(Model):
    type: Literal["opensearch"] = "opensearch"
    name: str
    url: SecretStr
    username: SecretStr | None = None
    password: SecretStr | None = None
    tls_verify: bool = True
    batch_size: int = 1000
    max_bytes: int = 10 * 1024 * 1024
    timeout_secs: int = 30
    max_retries: int = 3
    pipeline: str | None = None
    number_of_shards: int = 1
    number_of_replicas: int = 1
    refresh_interval: str = "10s"
    text_analysis: Literal["builtin", "icu"] = "builtin"
    auto_subfields: bool = True

    @property
    def mapping_options(self) -> MappingOptions:
        return MappingOptions(text_analysis=self.text_analysis, auto_subfields=self.auto_subfields)


class StdoutSink(Model):
    type: Literal["stdout"] = "stdout"
    name: str
    pretty: bool = False


Sink = OpenSearchSink | StdoutSink


class Index(Model):
    """One `[[index]]` entry with its parsed schema, OpenSearch mapping and content hash."""

    name: str
    schema_path: Path
    enabled: bool
    on_error: OnError
    index_schema: IndexSchema
    mapping: dict[str, Any]
    content_hash: str

    @property
    def root(self) -> TableRef:
        return TableRef(self.index_schema.db_schema, self.index_schema.table)

    def spec(self) -> IndexSpec:
        """What the engine and its edges need to know of this index."""
        return IndexSpec(name=self.name, root=self.root, mapping=self.mapping, content_hash=self.content_hash)


class Config(Model):
    path: Path
    source: PostgresSource
    sinks: dict[str, Sink] = Field(default_factory=dict)
    indexes: tuple[Index, ...] = ()
    on_error: OnError = "stop"
    prefix: str = ""
    server: ServerToml = Field(default_factory=ServerToml)

    def enabled_indexes(self) -> tuple[Index, ...]:
        return tuple(index for index in self.indexes if index.enabled)
