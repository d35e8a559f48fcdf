"""Change capture: where changes come from (WAL streaming, SQL polling, ...)."""

from flusso_engine.capture.protocol import ChangeCapture

__all__ = ["ChangeCapture"]
