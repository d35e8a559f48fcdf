"""The source server and role as logical replication needs them: settings, privileges, the slot."""

from __future__ import annotations

import psycopg
from psycopg import sql

from flusso_engine.capture.slot import slot_exists, validate_slot_name
from flusso_engine.errors import CaptureError
from flusso_engine.preflight.diagnostics import Diagnostic, error
from flusso_engine.preflight.facts import MANAGED_REPLICATION_ROLES, RoleFacts, ServerSettings

_RESTART = "then restart Postgres (on a managed service, change it in the instance's parameter group / flags)"


def check_settings(settings: ServerSettings) -> list[Diagnostic]:
    """Pure, so every verdict can be tested without reconfiguring a server."""
    found: list[Diagnostic] = []
    if settings.wal_level != "logical":
        found.append(error(
            None, "", f"wal_level is {settings.wal_level!r}; logical decoding needs 'logical'",
            f"run: ALTER SYSTEM SET wal_level = 'logical'; {_RESTART} "
            "(AWS RDS/Aurora: rds.logical_replication = 1; Cloud SQL: cloudsql.logical_decoding = on)",
        ))
    if settings.max_wal_senders < 1:
        found.append(error(None, "", "max_wal_senders is 0; the replication connection will be refused",
                           f"run: ALTER SYSTEM SET max_wal_senders = 10; {_RESTART}"))
    if settings.max_replication_slots < 1:
        found.append(error(None, "", "max_replication_slots is 0; flusso cannot create its slot",
                           f"run: ALTER SYSTEM SET max_replication_slots = 10; {_RESTART}"))
    return found


def check_role(role: RoleFacts) -> list[Diagnostic]:
    """The role must be allowed to stream changes: REPLICATION, superuser, or a managed equivalent."""
    if role.superuser or role.replication or role.managed_replication_roles:
        return []
    alter = sql.SQL("ALTER ROLE {} WITH REPLICATION;").format(sql.Identifier(role.name)).as_string(None)
    return [error(
        None, "", f"role {role.name!r} has neither the REPLICATION attribute nor superuser "
        f"(nor membership in {', '.join(MANAGED_REPLICATION_ROLES)})",
        f"run as a superuser: {alter} (AWS RDS: GRANT rds_replication TO {sql.Identifier(role.name).as_string(None)};)",
    )]


def check_slot(conn: psycopg.Connection, slot: str, settings: ServerSettings) -> list[Diagnostic]:
    """A slot flusso will reuse must be a pgoutput slot of this database; a new one needs a free place."""
    try:
        validate_slot_name(slot)
        if slot_exists(conn, slot):
            return []
    except CaptureError as exc:
        return [error(None, "", str(exc), "choose another slot name with --slot")]
    if settings.slots_in_use >= settings.max_replication_slots > 0:
        return [error(
            None, "", f"slot {slot!r} does not exist and all {settings.max_replication_slots} replication slots are in use",
            "drop an unused slot (SELECT pg_drop_replication_slot('<name>');) or raise max_replication_slots "
            "(ALTER SYSTEM SET max_replication_slots = ...; then restart Postgres)",
        )]
    return []
