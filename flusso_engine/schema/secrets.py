"""Resolving secrets and connection values from the file and the environment.

Precedence, highest first (the reference's, so a deployment behaves the same):
1. an explicit `{ env = "X" }` (it names its own source; an unset X is an error);
2. the reserved variable (DATABASE_URL, <SINK>_OPENSEARCH_URL/USERNAME/PASSWORD) when set —
   it overrides a literal and fills an omitted value, so one file travels across environments;
3. the literal in the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from pydantic import SecretStr

from flusso_engine.schema.config_toml import (
    HTTP_URL, POSTGRES_URL, ConnectionParts, EnvRef, OpenSearchSinkToml, PostgresSourceToml,
)
from flusso_engine.schema.errors import problem

DATABASE_URL = "DATABASE_URL"


def reserved_sink_variable(sink: str, what: str) -> str:
    """`primary`, `url` → `PRIMARY_OPENSEARCH_URL`."""
    return f"{sink.upper()}_OPENSEARCH_{what.upper()}"


def resolve(
    value: str | EnvRef | None, reserved: str | None, environ: Mapping[str, str], file: Path, key: str
) -> str | None:
    """The effective value of one env-or-value key (None when nothing supplies it)."""
    if isinstance(value, EnvRef):
        if value.env not in environ:
            raise problem(file, key, f"environment variable `{value.env}` is not set", f"export {value.env}, or write the value in the file")
        return environ[value.env]
    if reserved and environ.get(reserved):
        return environ[reserved]
    return value


def source_url(source: PostgresSourceToml, environ: Mapping[str, str], file: Path) -> SecretStr:
    """The Postgres URL from the URL/env/parts forms and DATABASE_URL."""
    given = source.connection_url
    key = "source.connection_url"
    if isinstance(given, ConnectionParts):
        url = environ.get(DATABASE_URL) or _url_from_parts(given, environ, file)
    else:
        url = resolve(given, DATABASE_URL, environ, file, key)
    if url is None:
        raise problem(file, key, "the source has no connection_url and DATABASE_URL is not set",
                      'add `connection_url = "postgresql://user:password@host:5432/db"` or export DATABASE_URL')
    if not POSTGRES_URL.fullmatch(url):
        raise problem(file, key, "the connection URL is not a postgres URL",
                      "make it `postgresql://user:password@host:5432/database`")
    return SecretStr(url)


def _url_from_parts(parts: ConnectionParts, environ: Mapping[str, str], file: Path) -> str:
    password = resolve(parts.password, None, environ, file, "source.connection_url.password")
    auth = quote(parts.user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
    host = f"[{parts.host}]" if ":" in parts.host else parts.host
    return f"postgresql://{auth}@{host}:{parts.port}/{quote(parts.database, safe='')}"


def sink_credentials(
    name: str, sink: OpenSearchSinkToml, environ: Mapping[str, str], file: Path
) -> dict[str, SecretStr | None]:
    """url, username and password of one OpenSearch sink; a url is required."""
    values = {
        what: resolve(getattr(sink, what), reserved_sink_variable(name, what), environ, file, f"sinks.{name}.{what}")
        for what in ("url", "username", "password")
    }
    url = values["url"]
    if url is None:
        raise problem(file, f"sinks.{name}.url", "the OpenSearch sink has no url",
                      f'add `url = "https://host:9200"` or export {reserved_sink_variable(name, "url")}')
    if not HTTP_URL.fullmatch(url):
        raise problem(file, f"sinks.{name}.url", "the sink url is not an http(s) URL", "write it as `https://host:9200`")
    return {what: (SecretStr(v) if v is not None else None) for what, v in values.items()}
