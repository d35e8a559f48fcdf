"""Capture tests run against the real server: a database per test, captures on both transports.

`follow` runs a capture's live stream on a thread (as the engine does) and hands changes to the
test through a queue, so a test can confirm, stop and restart exactly like the engine would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from flusso_engine.capture.polling import PollingCapture
from flusso_engine.capture.slot import SlotSource
from flusso_engine.capture.wal import WalCapture
from flusso_engine.model import TableRef
from tests.capture.support import PUBLICATION, SLOT, Follower, slot_exists, wait_for


@pytest.fixture(params=["wal", "polling"])
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_capture(pg_database_url: str, transport: str) -> Iterator[Callable[..., WalCapture | PollingCapture]]:
    made: list[WalCapture | PollingCapture] = []

    def make(*tables: TableRef, snapshot_page_size: int = 10_000) -> WalCapture | PollingCapture:
        source = SlotSource(pg_database_url, SLOT, PUBLICATION, frozenset(tables), snapshot_page_size=snapshot_page_size)
        capture = WalCapture(source) if transport == "wal" else PollingCapture(source, poll_interval=0.1)
        made.append(capture)
        return capture

    yield make
    for capture in made:
        capture.stop()
        capture.close()


@pytest.fixture
def follow(
    make_capture: Callable[..., WalCapture | PollingCapture], pg_database_url: str
) -> Iterator[Callable[..., Follower]]:
    """Start following `tables`; returns once the slot exists, so later writes are captured."""
    followers: list[Follower] = []

    def start(*tables: TableRef, **options: object) -> Follower:
        follower = Follower(make_capture(*tables, **options)).start()
        followers.append(follower)
        with psycopg.connect(pg_database_url, autocommit=True) as conn:
            wait_for(lambda: slot_exists(conn) or follower.error is not None, what="the slot")
        if follower.error is not None:
            raise follower.error
        return follower

    yield start
    for follower in followers:
        follower.capture.stop()
        if follower.thread is not None:
            follower.thread.join(timeout=10)


@pytest.fixture
def db(pg_database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        yield conn


