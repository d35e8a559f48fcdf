"""Replica identity: which tables must send their whole old row so no change is lost.

A change to a child row (has_one/has_many child, junction row, aggregated row) names its parent
only through a foreign key on that row. With the default identity a DELETE carries only the
primary key, so the parent it left cannot be found and keeps the deleted child; the same holds
for the old parent of a row whose foreign key moved. REPLICA IDENTITY FULL puts the foreign key
into the old tuple. Separately, a published table without any identity makes Postgres refuse the
application's own UPDATE and DELETE statements, which is an error, not a warning.
"""

from __future__ import annotations

from psycopg import sql

from flusso_engine.documents.catalog import Catalog
from flusso_engine.documents.plan import IndexPlan, LinkKind
from flusso_engine.model import TableRef
from flusso_engine.preflight.diagnostics import Diagnostic, error, warning
from flusso_engine.preflight.facts import TableFacts

_FULL = "ALTER TABLE {} REPLICA IDENTITY FULL;"


def needs_full_identity(plan: IndexPlan) -> dict[TableRef, str]:
    """Each table holding a foreign key the index follows, with the first field that follows it."""
    needed: dict[TableRef, str] = {}
    for path, relation in plan.relations.items():
        if relation.link.kind is LinkKind.DIRECT:
            needed.setdefault(relation.table.ref, ".".join(path))
        elif relation.link.junction is not None:
            needed.setdefault(relation.link.junction.ref, ".".join(path))
    return needed


def check_identity(plan: IndexPlan, catalog: Catalog, tables: dict[TableRef, TableFacts]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    needed = needs_full_identity(plan)
    for ref in sorted(plan.tables()):
        facts = tables[ref]
        statement = _statement(ref)
        keyless = facts.replica_identity == "d" and not catalog.table(ref, plan.name).primary_key
        if facts.replica_identity == "n" or keyless:
            reason = "REPLICA IDENTITY NOTHING" if facts.replica_identity == "n" else "no primary key"
            found.append(error(
                plan.name, needed.get(ref, ""),
                f"table {ref} has {reason}: once it is in the publication, Postgres rejects UPDATE and DELETE on it",
                f"add a primary key, or run: {statement}",
            ))
        elif ref in needed and facts.replica_identity != "f":
            found.append(warning(
                plan.name, needed[ref],
                f"table {ref} lacks REPLICA IDENTITY FULL: deleting one of its rows, or moving it to another "
                "parent, will not update the document it leaves",
                f"run: {statement}",
            ))
    return found


def _statement(ref: TableRef) -> str:
    return sql.SQL(_FULL).format(sql.Identifier(ref.schema, ref.name)).as_string(None)
