"""Queues between capture and the worker: bounded, so back-pressure reaches the capture."""

from flusso_engine.queue.protocol import Queue

__all__ = ["Queue"]
