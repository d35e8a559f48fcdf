"""flusso_engine: keeps OpenSearch in sync with Postgres.

ChangeCapture -> queue -> resolve -> build -> Sink -> flush -> ack

The engine knows its edges only through the protocols in `capture`, `queue`, `documents` and
`sinks`; `backends` is the one place that wires concrete ones from a config.
"""
