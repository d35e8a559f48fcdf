"""`flusso check` against the live database: gather every finding, then print and set the exit code.

Findings are gathered, never raised, so one run lists everything to fix. Only the enabled indexes
are checked: they are what `flusso run` reads and what the publication must cover.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import psycopg

from flusso_engine.connection_names import named
from flusso_engine.documents.catalog import Catalog
from flusso_engine.documents.plan import compile_plan, table_refs
from flusso_engine.documents.source import SourceConnection
from flusso_engine.errors import BuildError
from flusso_engine.model import TableRef
from flusso_engine.preflight.columns import Database, check_columns
from flusso_engine.preflight.diagnostics import Diagnostic, error
from flusso_engine.preflight.facts import read_publication, read_role, read_settings, read_tables
from flusso_engine.preflight.identity import check_identity
from flusso_engine.preflight.publication import check_publication
from flusso_engine.preflight.render import render_human, render_json
from flusso_engine.preflight.server import check_role, check_settings, check_slot
from flusso_engine.schema.config import Config
from flusso_engine.schema import report


def check_online(config: Config, *, slot: str, publication: str) -> list[Diagnostic]:
    """Every finding about the config against its source database; empty when all is ready."""
    url = config.source.url.get_secret_value()
    try:
        with psycopg.connect(named(url, "check"), autocommit=True, connect_timeout=10) as conn:
            return _diagnose(conn, config, slot, publication)
    except (psycopg.Error, BuildError) as exc:
        return [error(None, "", f"cannot read postgres {config.source.display_url}: {_redacted(str(exc), url)}",
                      "check that the server is up and that connection_url (host, port, user, password, database) is right")]


def run_check(config: Config, *, offline: bool, slot: str, publication: str, fmt: str) -> int:
    """Print the offline report, and unless `offline` the online findings; non-zero on any error."""
    if offline:
        print(report.render_json(config) if fmt == "json" else report.render_human(config))
        return 0
    diagnostics = check_online(config, slot=slot, publication=publication)
    if fmt == "json":
        print(render_json(config, diagnostics, slot=slot, publication=publication))
    else:
        print(report.render_human(config))
        print(render_human(config, diagnostics, slot=slot, publication=publication))
    return 1 if any(d.is_error for d in diagnostics) else 0


def _diagnose(conn: psycopg.Connection, config: Config, slot: str, publication: str) -> list[Diagnostic]:
    indexes = config.enabled_indexes()
    refs: set[TableRef] = {ref for index in indexes for ref in table_refs(index.index_schema)}
    settings, role = read_settings(conn), read_role(conn)
    tables = read_tables(conn, refs)
    catalog = _catalog(config.source.url.get_secret_value(), refs)
    found = [*check_settings(settings), *check_role(role), *check_slot(conn, slot, settings)]
    database = Database(catalog, tables, role.name)
    for index in indexes:
        columns = check_columns(index, database)
        found.extend(columns)
        try:
            plan = compile_plan(index.name, index.index_schema, catalog)
        except BuildError as exc:
            if not any(d.is_error for d in columns):  # otherwise the findings above explain it
                found.append(error(index.name, "", str(exc), "fix the schema or the table as the message says"))
            continue
        found.extend(check_identity(plan, catalog, tables))
    existing = [tables[ref] for ref in sorted(refs) if ref in tables]
    found.extend(check_publication(publication, existing, read_publication(conn, publication), role,
                                   config.source.manage_publication))
    return found


def _catalog(url: str, refs: set[TableRef]) -> Catalog:
    """The document builder's own catalog read, so check and run agree on types and keys."""
    source = SourceConnection(url)
    try:
        return Catalog.load(source, refs)
    finally:
        source.close()


def _redacted(text: str, url: str) -> str:
    """A driver message never shows the password, even if a future driver echoes the URL."""
    password = urlsplit(url).password
    for secret in {password, unquote(password)} if password else ():
        text = text.replace(secret, "***")
    return text
