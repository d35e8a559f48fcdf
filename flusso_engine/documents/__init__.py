"""Documents: resolve changed rows to document ids, then assemble each document."""

from flusso_engine.documents.protocol import DocumentBuilder

__all__ = ["DocumentBuilder"]
