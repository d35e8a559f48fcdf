"""flusso.toml + *.schema.yml → one validated, immutable Config (the reference's format, unchanged)."""

from flusso_engine.schema.config import Config, Index, OpenSearchSink, PostgresSource, StdoutSink
from flusso_engine.schema.content_hash import content_hash
from flusso_engine.schema.errors import InvalidConfig, Problem
from flusso_engine.schema.index_yaml import IndexSchema, parse_index_schema
from flusso_engine.schema.loader import default_config_path, load_config, load_indexes
from flusso_engine.schema.mapping import MappingOptions, build_mapping

__all__ = [
    "Config", "Index", "IndexSchema", "InvalidConfig", "MappingOptions", "OpenSearchSink",
    "PostgresSource", "Problem", "StdoutSink", "build_mapping", "content_hash", "default_config_path",
    "load_config", "load_indexes", "parse_index_schema",
]
