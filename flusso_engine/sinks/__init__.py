"""Sinks: where documents go (stdout, OpenSearch, several at once)."""

from flusso_engine.sinks.protocol import Sink

__all__ = ["Sink"]
