"""Publication coverage: every table the indexes read must be published, or flusso must be able to.

Mirrors what the capture does at start (create or extend the publication when management is on
and the role may), so `check` predicts the run: a gap flusso will close itself is a warning; a
gap it cannot close is an error carrying the exact statement an operator must run.
"""

from __future__ import annotations

from collections.abc import Collection

from psycopg import sql

from flusso_engine.capture.slot import coverage_statement
from flusso_engine.preflight.diagnostics import Diagnostic, error, warning
from flusso_engine.preflight.facts import PublicationFacts, RoleFacts, TableFacts

_CHANGES = ("insert", "update", "delete")


def check_publication(
    name: str, tables: Collection[TableFacts], publication: PublicationFacts | None, role: RoleFacts, manage: bool,
) -> list[Diagnostic]:
    """`tables`: the existing tables the enabled indexes read (missing ones are reported elsewhere)."""
    found = _published_operations(name, publication) if publication is not None else []
    present = publication.tables if publication is not None else frozenset()
    missing = [t for t in tables if t.is_table and t.ref not in present]
    if publication is not None and not missing:
        return found
    statement = coverage_statement(name, [t.ref for t in missing], publication is not None).as_string(None) + ";"
    gap = (f"publication {name!r} does not exist" if publication is None
           else f"publication {name!r} does not include {', '.join(str(t.ref) for t in missing)}")
    blocker = _blocker(publication, missing, role)
    if manage and blocker is None:
        found.append(warning(None, "", f"{gap}; flusso will fix this at start (manage_publication = true)",
                             f"nothing to do, or run it yourself: {statement}"))
    else:
        reason = "publication management is off (manage_publication = false)" if not manage else blocker
        found.append(error(None, "", f"{gap}, and {reason}; changes to unpublished tables are never seen",
                           f"run as a role owning the tables: {statement}"))
    return found


def _blocker(publication: PublicationFacts | None, missing: list[TableFacts], role: RoleFacts) -> str | None:
    """Why this role cannot close the gap itself (Postgres's own rules), or None when it can."""
    if role.superuser:
        return None
    if publication is None and not role.create_on_database:
        return f"role {role.name!r} lacks CREATE on the database, which creating a publication needs"
    if publication is not None and not publication.owned:
        return f"role {role.name!r} does not own the publication"
    foreign = [str(t.ref) for t in missing if not t.owned]
    if foreign:
        return f"role {role.name!r} does not own {', '.join(foreign)}, which publishing a table needs"
    return None


def _published_operations(name: str, publication: PublicationFacts) -> list[Diagnostic]:
    """A publication that leaves out deletes (say) silently loses them; truncates only reseed less."""
    found: list[Diagnostic] = []
    omitted = [op for op in _CHANGES if not publication.publishes[op]]
    fix = sql.SQL("ALTER PUBLICATION {} SET (publish = 'insert, update, delete, truncate');").format(sql.Identifier(name))
    if omitted:
        found.append(error(None, "", f"publication {name!r} does not publish {', '.join(omitted)}; those changes are lost",
                           f"run: {fix.as_string(None)}"))
    elif not publication.publishes["truncate"]:
        found.append(warning(None, "", f"publication {name!r} does not publish truncate; a TRUNCATE will not empty the index",
                             f"run: {fix.as_string(None)}"))
    return found
