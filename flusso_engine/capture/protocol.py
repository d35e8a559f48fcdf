"""The ChangeCapture edge."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from flusso_engine.model import Ack, Change, RowKey, TableRef


class ChangeCapture(Protocol):
    """A source of thin changes that advances its durable position only on confirm.

    The capture owns its resume position (for Postgres, the replication slot): the engine never
    sees or stores one. It only hands back the acks of changes whose documents are durable.
    """

    def snapshot(self, tables: Sequence[TableRef], after: Mapping[TableRef, RowKey] | None = None) -> Iterator[Change]:
        """A finite stream of SNAPSHOT pages (see Change) that covers the current rows of
        `tables`, table by table, each in primary-key order. A table named in `after` starts
        strictly after that key (a resumed backfill) when the capture's durable position predates
        this session; a position created just now holds no change made since to the rows before
        that key, so then every row is read.

        The pages must be consistent with where `live` starts: a page's rows are read at some
        time after the snapshot starts, so every change committed since then must reach the
        live stream.
        """
        ...

    def live(self) -> Iterator[Change]:
        """The live change stream from the durable position on; blocks while idle.

        Ends (returns) after `stop` is called; raises a CaptureError on a failure it cannot
        recover from by itself.
        """
        ...

    def confirm(self, acks: Sequence[Ack]) -> None:
        """Record that these changes are durable downstream.

        Cheap and order-insensitive: the capture advances only to the highest contiguous
        confirmed change. Never called for a change before the flush that persisted it.
        """
        ...

    def stop(self) -> None:
        """Ask `live` to end soon; safe to call from another thread."""
        ...

    def close(self) -> None:
        """Release connections. Unconfirmed changes are redelivered by the next session."""
        ...
