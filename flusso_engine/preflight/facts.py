"""What the online check reads from the live database, in a few catalog queries.

Column types and primary keys come from the document builder's own Catalog (so check and run
agree on them); this module reads what only the check needs: nullability, enum-ness, replica
identity, privileges, the role's attributes, the server's replication settings, the publication.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import psycopg

from flusso_engine.model import TableRef

#: Roles that grant replication on managed Postgres services, where the REPLICATION attribute
#: itself cannot be given: AWS RDS/Aurora, Google Cloud SQL, Azure Database for PostgreSQL.
MANAGED_REPLICATION_ROLES = ("rds_replication", "rds_superuser", "cloudsqlsuperuser", "azure_pg_admin")

_SETTINGS = """
SELECT (SELECT setting FROM pg_settings WHERE name = 'wal_level'),
       (SELECT setting::int FROM pg_settings WHERE name = 'max_replication_slots'),
       (SELECT setting::int FROM pg_settings WHERE name = 'max_wal_senders'),
       (SELECT count(*)::int FROM pg_replication_slots)
"""

_ROLE = """
SELECT r.rolname, r.rolsuper, r.rolreplication,
       has_database_privilege(current_database(), 'CREATE'),
       ARRAY(SELECT m.rolname FROM pg_roles AS m
             WHERE m.rolname = ANY(%s) AND pg_has_role(r.oid, m.oid, 'MEMBER') ORDER BY 1)
FROM pg_roles AS r WHERE r.rolname = current_user
"""

_TABLES = """
SELECT n.nspname, c.relname, c.relkind::text, c.relreplident::text,
       has_table_privilege(c.oid, 'SELECT'), pg_has_role(c.relowner, 'USAGE'),
       a.attname, NOT a.attnotnull, coalesce(e.typtype, t.typtype) = 'e',
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_type AS e ON e.oid = t.typelem AND t.typcategory = 'A'
WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
ORDER BY a.attnum
"""

_PUBLICATION = """
SELECT p.puballtables, pg_has_role(p.pubowner, 'USAGE'),
       p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate,
       ARRAY(SELECT ARRAY[t.schemaname::text, t.tablename::text]
             FROM pg_publication_tables AS t WHERE t.pubname = p.pubname)
FROM pg_publication AS p WHERE p.pubname = %s
"""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    wal_level: str
    max_replication_slots: int
    max_wal_senders: int
    slots_in_use: int


@dataclass(frozen=True, slots=True)
class RoleFacts:
    name: str
    superuser: bool
    replication: bool
    create_on_database: bool
    managed_replication_roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    nullable: bool
    is_enum: bool
    #: For a domain, the type it is over: the type the value really has.
    domain_base: str | None


@dataclass(slots=True)
class TableFacts:
    ref: TableRef
    kind: str  # pg_class.relkind: 'r' table, 'p' partitioned table, 'v' view, ...
    replica_identity: str  # pg_class.relreplident: 'd' default, 'f' full, 'i' index, 'n' nothing
    can_select: bool
    owned: bool
    columns: dict[str, ColumnFacts] = field(default_factory=dict)

    @property
    def is_table(self) -> bool:
        return self.kind in ("r", "p")


@dataclass(frozen=True, slots=True)
class PublicationFacts:
    all_tables: bool
    owned: bool
    publishes: dict[str, bool]  # insert/update/delete/truncate → published
    tables: frozenset[TableRef]


def read_settings(conn: psycopg.Connection) -> ServerSettings:
    row = conn.execute(_SETTINGS).fetchone()
    assert row is not None
    return ServerSettings(*row)


def read_role(conn: psycopg.Connection) -> RoleFacts:
    row = conn.execute(_ROLE, (list(MANAGED_REPLICATION_ROLES),)).fetchone()
    assert row is not None
    name, superuser, replication, create, managed = row
    return RoleFacts(name, superuser, replication, create, tuple(managed))


def read_tables(conn: psycopg.Connection, refs: Collection[TableRef]) -> dict[TableRef, TableFacts]:
    """The named tables that exist (views and others included, so the check can say what they are)."""
    ordered = sorted(refs)
    tables: dict[TableRef, TableFacts] = {}
    rows = conn.execute(_TABLES, ([r.schema for r in ordered], [r.name for r in ordered]))
    for schema, name, kind, identity, can_select, owned, column, nullable, is_enum, base in rows:
        ref = TableRef(schema, name)
        table = tables.setdefault(ref, TableFacts(ref, kind, identity, can_select, owned))
        table.columns[column] = ColumnFacts(nullable, is_enum, base)
    return tables


def read_publication(conn: psycopg.Connection, name: str) -> PublicationFacts | None:
    row = conn.execute(_PUBLICATION, (name,)).fetchone()
    if row is None:
        return None
    all_tables, owned, insert, update, delete, truncate, tables = row
    return PublicationFacts(
        all_tables, owned,
        {"insert": insert, "update": update, "delete": delete, "truncate": truncate},
        frozenset(TableRef(schema, table) for schema, table in tables),
    )
