"""Every Postgres connection flusso opens says what it is for, in `application_name`.

Whoever looks at the database from the other side (pg_stat_activity, pg_stat_statements with
`track` on, a lock held too long, the server's log) then sees which of flusso's connections it
is: the WAL stream, the backfill's snapshot, the document builds. The name goes in as libpq's
`fallback_application_name`, so one the user set (in the connection URL, or PGAPPNAME) wins.
"""

from __future__ import annotations

from typing import Literal

from psycopg.conninfo import make_conninfo

#: What a connection does: the replication stream and its catalog reads, the backfill snapshot,
#: polling capture, document builds, the live run's lock, and the short-lived reads of checks
#: and reports.
Role = Literal["stream", "catalog", "snapshot", "poll", "build", "lock", "check", "report"]


def named(dsn: str, role: Role) -> str:
    """`dsn` as a key=value connection string that names the connection `flusso <role>`."""
    return make_conninfo(dsn, fallback_application_name=f"flusso {role}")
