"""A one-index deployment over a small shop table, so each test breaks exactly one precondition."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from flusso_engine.schema import Config, load_config

SHOP = """
CREATE TYPE item_state AS ENUM ('draft', 'live');
CREATE TABLE items (id bigint PRIMARY KEY, title text NOT NULL, state item_state NOT NULL, note text);
CREATE TABLE reviews (id bigint PRIMARY KEY, item_id bigint NOT NULL REFERENCES items, stars integer NOT NULL);
ALTER TABLE reviews REPLICA IDENTITY FULL;
"""

#: Fields of the `items` index; tests replace them to declare what they need.
ITEM_FIELDS = """
  - long: id
    required: true
  - text: title
    required: true
  - enum: state
    required: true
  - has_many: reviews
    table: reviews
    foreign_key: item_id
    primary_key: id
    fields:
      - integer: stars
        required: true
"""

MakeConfig = Callable[..., Config]


@pytest.fixture
def shop_url(pg_database_url: str) -> str:
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute(SHOP)
    return pg_database_url


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """A Config with one `items` index whose fields (and source URL, publication policy) a test picks."""

    def make(url: str, fields: str = ITEM_FIELDS, *, table: str = "items", manage_publication: bool = True) -> Config:
        schema = tmp_path / "items.schema.yml"
        schema.write_text(f"version: 1\ntable: {table}\nprimary_key: id\nfields:{fields}")
        config = tmp_path / "flusso.toml"
        config.write_text(
            f'[source]\ntype = "postgres"\nconnection_url = "{url}"\n'
            f"manage_publication = {str(manage_publication).lower()}\n\n"
            f'[[index]]\nname = "items"\nschema = "{schema}"\nenabled = true\n'
        )
        return load_config(config)

    return make


@pytest.fixture
def plain_role_url(shop_url: str) -> Iterator[str]:
    """The shop database as a login role with no privileges and no REPLICATION attribute."""
    role = f"plain_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    yield urlsplit(shop_url)._replace(netloc=f"{role}@{urlsplit(shop_url).hostname}:{urlsplit(shop_url).port}").geturl()
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
