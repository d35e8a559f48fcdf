"""The OpenSearch sink: versioned bulk writes, generations behind aliases, state in a meta index."""

from flusso_engine.sinks.opensearch.client import OpenSearchSettings, connect
from flusso_engine.sinks.opensearch.sink import OpenSearchSink

__all__ = ["OpenSearchSettings", "OpenSearchSink", "connect"]
