"""The `flusso.toml` file as written: source, sinks, indexes, failure policy, prefix, server.

These models hold what the file says, secrets still as literals or `{ env = "VAR" }` references;
`secrets.py` resolves them and `loader.py` assembles the final Config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag

from flusso_engine.schema.errors import KeyPath, RuleError
from flusso_engine.schema.primitives import Identifier, Model, NonEmptyStr, StrictBool, StrictInt, StrictStr

OnError = Literal["stop", "skip"]

POSTGRES_URL = re.compile(r"(postgresql|postgres)://\S+")
HTTP_URL = re.compile(r"https?://\S+")
_ADDRESS = re.compile(r"(?P<host>\[[0-9a-fA-F:.]+\]|[^:\s]+):(?P<port>\d{1,5})")
_PREFIX_FORBIDDEN = set(' ,:"*+/\\|?#<>')
_MAX_PREFIX_BYTES = 50


class EnvRef(Model):
    """A value read from the named environment variable when the config is loaded."""

    env: NonEmptyStr = Field(description="Name of the environment variable holding the value.")


def _literal_or_env(value: Any) -> Any:
    if not isinstance(value, (str, dict, EnvRef)):
        raise RuleError(f"expected a string or `{{ env = \"VAR\" }}`, got {value!r}", 'write a quoted string or `{ env = "VAR" }`')
    return value


def _literal_or_env_form(value: Any) -> str:
    return "literal form" if isinstance(value, str) else "env form"


#: A literal string, or `{ env = "VAR" }`.
EnvOrValue = Annotated[
    Annotated[StrictStr, Tag("literal form")] | Annotated[EnvRef, Tag("env form")],
    Discriminator(_literal_or_env_form),
    BeforeValidator(_literal_or_env),
]


def _postgres_url(url: str) -> str:
    if not POSTGRES_URL.fullmatch(url):
        raise RuleError("connection_url is not a postgres URL", "write `postgresql://user:password@host:5432/database`")
    return url


class ConnectionParts(Model):
    """A connection given piece by piece; only `database` has no default."""

    host: NonEmptyStr = "127.0.0.1"
    port: StrictInt = Field(default=5432, ge=1, le=65535)
    user: NonEmptyStr = "postgres"
    password: EnvOrValue | None = None
    database: NonEmptyStr


def _connection_form(value: Any) -> str | None:
    if isinstance(value, str):
        return "url form"
    if isinstance(value, EnvRef) or (isinstance(value, dict) and "env" in value):
        return "env form"
    if isinstance(value, (dict, ConnectionParts)):
        return "parts form"
    return None


def _connection_shape(value: Any) -> Any:
    if _connection_form(value) is None:
        raise RuleError(
            f"connection_url must be a URL, `{{ env = \"VAR\" }}` or a table of parts, got {value!r}",
            'write `connection_url = "postgresql://..."`, `connection_url = { env = "DATABASE_URL" }` '
            "or a `[source.connection_url]` table with host, port, user, password, database",
        )
    return value


ConnectionUrl = Annotated[
    Annotated[Annotated[StrictStr, AfterValidator(_postgres_url)], Tag("url form")]
    | Annotated[EnvRef, Tag("env form")] | Annotated[ConnectionParts, Tag("parts form")],
    Discriminator(_connection_form),
    BeforeValidator(_connection_shape),
]


class PostgresSourceToml(Model):
    type: Literal["postgres"]
    connection_url: ConnectionUrl | None = Field(
        default=None, description="URL, { env = VAR } or parts; DATABASE_URL overrides a literal and fills an omitted one."
    )
    manage_publication: StrictBool = Field(default=True, description="Create or extend the publication when privileged.")


class OpenSearchSinkToml(Model):
    type: Literal["opensearch"]
    url: EnvOrValue | None = Field(default=None, description="Cluster URL; <NAME>_OPENSEARCH_URL overrides a literal.")
    username: EnvOrValue | None = None
    password: EnvOrValue | None = None
    tls_verify: StrictBool = True
    batch_size: StrictInt = Field(default=1000, ge=1, description="Documents per bulk request.")
    max_bytes: StrictInt = Field(default=10 * 1024 * 1024, ge=1, description="Bytes per bulk request.")
    timeout_secs: StrictInt = Field(default=30, ge=1)
    max_retries: StrictInt = Field(default=3, ge=0)
    pipeline: StrictStr | None = None
    number_of_shards: StrictInt = Field(default=1, ge=1)
    number_of_replicas: StrictInt = Field(default=1, ge=0)
    refresh_interval: NonEmptyStr = Field(default="10s", description="Applied after seeding; \"-1\" disables.")
    text_analysis: Literal["builtin", "icu"] = "builtin"
    auto_subfields: StrictBool = True


class StdoutSinkToml(Model):
    type: Literal["stdout"]
    pretty: StrictBool = False


SinkToml = Annotated[OpenSearchSinkToml | StdoutSinkToml, Field(discriminator="type")]


class IndexEntryToml(Model):
    name: Identifier = Field(description="The logical index name: the index's stable identity.")
    schema_path: NonEmptyStr = Field(alias="schema", description="Path to the *.schema.yml, relative to this file.")
    enabled: StrictBool = Field(description="Whether this index is built and kept in sync.")
    on_error: OnError | None = Field(default=None, description="Overrides the global on_error for this index.")


def _address(value: str) -> str:
    match = _ADDRESS.fullmatch(value)
    if not match or not 0 < int(match["port"]) < 65536:
        raise RuleError(f"{value!r} is not a host:port address", "write it as `127.0.0.1:9464`")
    return value


Address = Annotated[StrictStr, AfterValidator(_address)]


class ServerToml(Model):
    public_address: Address = Field(default="127.0.0.1:9464", description="Health, status and metrics.")
    private_address: Address = Field(default="127.0.0.1:9465", description="Index control (Basic auth).")


def _prefix(value: str) -> str:
    bad = sorted(_PREFIX_FORBIDDEN & set(value))
    if value and (
        bad or value != value.lower() or not value[0].isalnum() or len(value.encode()) > _MAX_PREFIX_BYTES
    ):
        raise RuleError(
            f"prefix {value!r} is not usable in OpenSearch index names",
            f"use at most {_MAX_PREFIX_BYTES} lowercase characters starting with a letter or digit, "
            'without spaces or any of , : " * + / \\ | ? # < >',
        )
    return value


class ConfigToml(Model):
    source: PostgresSourceToml
    sinks: dict[Identifier, SinkToml] = Field(default_factory=dict, description="Named destinations; two or more fan out.")
    index: tuple[IndexEntryToml, ...] = Field(default=(), description="The indexes to build.")
    on_error: OnError = Field(default="stop", description="What to do when a sink rejects a document.")
    prefix: Annotated[StrictStr, AfterValidator(_prefix)] = Field(default="", description="Prepended to every owned index name.")
    server: ServerToml = Field(default_factory=ServerToml)


_TABLE_KEYS: dict[str, type[Model]] = {
    "source": PostgresSourceToml, "connection_url": ConnectionParts, "server": ServerToml, "index": IndexEntryToml,
}
_SINK_KEYS: dict[str, type[Model]] = {"opensearch": OpenSearchSinkToml, "stdout": StdoutSinkToml}


def _keys_of(model: type[Model]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


class _ConfigKeyGuide:
    """Where a flusso.toml key is wrong, the keys and fixes that apply at that place."""

    def allowed_keys(self, path: KeyPath, mapping: Mapping[str, Any]) -> Sequence[str]:
        if not path:
            return _keys_of(ConfigToml)
        if path[0] == "sinks" and len(path) == 2:
            model = _SINK_KEYS.get(str(mapping.get("type")))
            return _keys_of(model) if model else ["type"]
        if "env" in mapping:
            return _keys_of(EnvRef)
        named = [part for part in path if isinstance(part, str)]
        model = _TABLE_KEYS.get(named[-1])
        return _keys_of(model) if model else []

    def hint(self, path: KeyPath, mapping: Mapping[str, Any], key: str) -> str | None:
        if key == "type" and path and path[0] == "sinks":
            return 'add `type = "opensearch"` or `type = "stdout"`'
        if key == "type" and path == ("source",):
            return 'add `type = "postgres"`'
        if key == "enabled" and path and path[0] == "index":
            return "add `enabled = true` (or false to keep the index defined but not built)"
        if key == "schema" and path and path[0] == "index":
            return 'add `schema = "<name>.schema.yml"` (relative to flusso.toml)'
        return None


CONFIG_KEY_GUIDE = _ConfigKeyGuide()
