"""The error hierarchy: every error flusso raises on purpose is a FlussoError.

Two families matter to callers. A ConfigError is the user's to fix (it names the file, the key
and the fix, and is shown without a traceback). Everything else stops a run; stopping is always
safe because unconfirmed changes are redelivered. `transient` marks errors worth retrying with
backoff inside the run (a dropped connection, a 429) as opposed to permanent ones.
"""

from __future__ import annotations


class FlussoError(Exception):
    """Base of every error flusso raises on purpose."""

    transient: bool = False

    def __init__(self, *args: object, transient: bool | None = None) -> None:
        super().__init__(*args)
        if transient is not None:
            self.transient = transient


class ConfigError(FlussoError):
    """Bad configuration or schema input: the message says where and how to fix it."""


class CaptureError(FlussoError):
    """The change source failed (replication connection, slot, decoding)."""


class BuildError(FlussoError):
    """Resolving or assembling documents failed."""


class SinkError(FlussoError):
    """The destination failed outside a flush (creating an index, reading seeded state)."""


class FlushError(SinkError):
    """A flush failed as a whole: nothing in it may be acknowledged."""


class QueueClosed(FlussoError):
    """A put on a queue that was closed (the run is stopping)."""


class DocumentsRejected(FlussoError):
    """The sink refused documents of an index whose failure policy is `stop`."""

    def __init__(self, count: int, example: str) -> None:
        super().__init__(
            f"sink rejected {count} document(s) (e.g. {example}); stopping. "
            "Set on_error = \"skip\" for the index to quarantine rejected documents and continue."
        )
        self.count = count
        self.example = example
