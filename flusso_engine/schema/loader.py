"""The front door: `load_config(path)` reads flusso.toml and every schema it names into one Config.

Problems from the config and from all schemas are gathered and raised together, so one run of
`flusso check` shows everything to fix. No database is needed; secrets come from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from flusso_engine.schema.config import Config, Index, OpenSearchSink, PostgresSource, Sink, StdoutSink
from flusso_engine.schema.config_toml import CONFIG_KEY_GUIDE, ConfigToml, IndexEntryToml, OpenSearchSinkToml
from flusso_engine.schema.content_hash import content_hash
from flusso_engine.schema.errors import InvalidConfig, Problem, from_validation_error, problem
from flusso_engine.schema.index_yaml import parse_index_schema
from flusso_engine.schema.mapping import MappingOptions, build_mapping
from flusso_engine.schema.secrets import sink_credentials, source_url

CONFIG_ENV = "FLUSSO_CONFIG"
DEFAULT_CONFIG = "flusso.toml"
_TOML_LINE = re.compile(r"at line (\d+)")


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """$FLUSSO_CONFIG, else ./flusso.toml."""
    return Path((os.environ if environ is None else environ).get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, validate and resolve a deployment; raises InvalidConfig listing every problem."""
    env = os.environ if environ is None else environ
    file = Path(path) if path is not None else default_config_path(env)
    parsed, indexes = _parse(file)
    return Config(
        path=file,
        source=PostgresSource(url=source_url(parsed.source, env, file), manage_publication=parsed.source.manage_publication),
        sinks={name: _sink(name, sink, env, file) for name, sink in parsed.sinks.items()},
        indexes=indexes,
        on_error=parsed.on_error,
        prefix=parsed.prefix,
        server=parsed.server,
    )


def load_indexes(path: Path | str) -> tuple[Index, ...]:
    """Every index of a deployment, validated like `load_config` but without resolving secrets.

    For what only describes the indexes (a Dagster code location's assets): it must load where
    the run's secrets are not set, since they are resolved only when a run starts.
    """
    return _parse(Path(path))[1]


def _parse(file: Path) -> tuple[ConfigToml, tuple[Index, ...]]:
    raw = _read_toml(file)
    try:
        parsed = ConfigToml.model_validate(raw)
    except ValidationError as exc:
        raise from_validation_error(exc, file, raw, CONFIG_KEY_GUIDE) from None
    _reject_duplicate_indexes(parsed, file)
    options = next(
        (MappingOptions(text_analysis=s.text_analysis, auto_subfields=s.auto_subfields)
         for s in parsed.sinks.values() if isinstance(s, OpenSearchSinkToml)),
        MappingOptions(),
    )
    indexes, problems = [], []
    for entry in parsed.index:
        try:
            indexes.append(_index(entry, file, parsed.on_error, options))
        except InvalidConfig as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidConfig(problems)
    return parsed, tuple(indexes)


def _read_toml(file: Path) -> object:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise problem(file, "", f"cannot read the config file ({exc.strerror})",
                      f"pass --config PATH or set {CONFIG_ENV} to your flusso.toml") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        raise problem(file, "", f"invalid TOML: {exc}", "fix the TOML syntax at that line",
                      int(found[1]) if found else None) from None


def _reject_duplicate_indexes(parsed: ConfigToml, file: Path) -> None:
    seen: set[str] = set()
    for position, entry in enumerate(parsed.index):
        if entry.name in seen:
            raise problem(file, ("index", position, "name"), f"index `{entry.name}` is defined twice",
                          "give every [[index]] a different name")
        seen.add(entry.name)


def _sink(name: str, sink: object, environ: Mapping[str, str], file: Path) -> Sink:
    if isinstance(sink, OpenSearchSinkToml):
        settings = sink.model_dump(exclude={"type", "url", "username", "password"})
        return OpenSearchSink(name=name, **sink_credentials(name, sink, environ, file), **settings)
    return StdoutSink(name=name, **sink.model_dump(exclude={"type"}))  # type: ignore[attr-defined]


def _index(entry: IndexEntryToml, file: Path, on_error: str, options: MappingOptions) -> Index:
    schema_path = file.parent / entry.schema_path
    if not schema_path.is_file():
        raise InvalidConfig([Problem(file, f"index.{entry.name}.schema", f"schema file {str(schema_path)!r} does not exist",
                                     "fix the path (it is relative to flusso.toml) or create the file")])
    schema = parse_index_schema(schema_path)
    return Index(
        name=entry.name,
        schema_path=schema_path,
        enabled=entry.enabled,
        on_error=entry.on_error or on_error,
        index_schema=schema,
        mapping=build_mapping(schema, options),
        content_hash=content_hash(schema),
    )
