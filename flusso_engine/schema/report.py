"""What `flusso check` prints about a loaded Config: every index's mapping, no secret ever.

Built from the redacting parts of the Config (SecretStr dumps as asterisks, URLs are shown with
the password masked) so no code path here can print a resolved secret.
"""

from __future__ import annotations

import json
from typing import Any

from flusso_engine.schema.config import Config, OpenSearchSink, masked_url


def summary(config: Config) -> dict[str, Any]:
    """The check report as JSON-ready data."""
    return {
        "config": str(config.path),
        "source": {"type": "postgres", "url": config.source.display_url,
                   "manage_publication": config.source.manage_publication},
        "sinks": {name: _sink(sink) for name, sink in config.sinks.items()},
        "on_error": config.on_error,
        "prefix": config.prefix,
        "server": config.server.model_dump(),
        "indexes": [
            {
                "name": index.name,
                "enabled": index.enabled,
                "on_error": index.on_error,
                "schema": str(index.schema_path),
                "table": str(index.root),
                "content_hash": index.content_hash,
                "mapping": index.mapping,
            }
            for index in config.indexes
        ],
    }


def _sink(sink: Any) -> dict[str, Any]:
    body: dict[str, Any] = sink.model_dump(mode="json", exclude={"name"})
    if isinstance(sink, OpenSearchSink):
        body["url"] = masked_url(sink.url.get_secret_value())
    return body


def render_json(config: Config) -> str:
    return json.dumps(summary(config), indent=2, default=str)


def render_human(config: Config) -> str:
    data = summary(config)
    lines = [f"config {data['config']}: ok", f"source  postgres {data['source']['url']}"]
    for name, sink in data["sinks"].items():
        lines.append(f"sink    {name}: {sink['type']}" + (f" {sink['url']}" if "url" in sink else ""))
    if not data["sinks"]:
        lines.append("sink    (none: documents go to stdout)")
    for index in data["indexes"]:
        state = "enabled" if index["enabled"] else "disabled"
        lines.append(
            f"index   {index['name']} ({state}, on_error={index['on_error']}) table {index['table']} "
            f"hash {index['content_hash']}"
        )
        lines.append(json.dumps(index["mapping"], indent=2, default=str))
    return "\n".join(lines)
