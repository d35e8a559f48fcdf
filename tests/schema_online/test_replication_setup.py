"""Replica identity of child tables, and the publication's coverage."""

from __future__ import annotations

import psycopg

from flusso_engine.preflight import check_online
from tests.schema_online.conftest import MakeConfig


def test_a_child_table_without_full_identity_is_named_with_the_statement(shop_url: str, make_config: MakeConfig) -> None:
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE reviews REPLICA IDENTITY DEFAULT")
    [found] = [d for d in check_online(make_config(shop_url), slot="flusso", publication="flusso") if "IDENTITY" in d.message]
    assert (found.severity, found.index, found.path) == ("warning", "items", "reviews")
    assert found.fix == 'run: ALTER TABLE "public"."reviews" REPLICA IDENTITY FULL;'


def test_the_root_table_needs_no_full_identity(shop_url: str, make_config: MakeConfig) -> None:
    found = check_online(make_config(shop_url), slot="flusso", publication="flusso")
    assert not [d for d in found if "IDENTITY" in d.message]


def test_a_table_with_identity_nothing_is_an_error(shop_url: str, make_config: MakeConfig) -> None:
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE items REPLICA IDENTITY NOTHING")
    found = check_online(make_config(shop_url), slot="flusso", publication="flusso")
    assert any(d.is_error and "public.items has REPLICA IDENTITY NOTHING" in d.message for d in found)


def test_a_missing_publication_without_management_gives_the_exact_sql(shop_url: str, make_config: MakeConfig) -> None:
    found = check_online(make_config(shop_url, manage_publication=False), slot="flusso", publication="flusso")
    [missing] = [d for d in found if "publication" in d.message]
    assert missing.is_error and "manage_publication = false" in missing.message
    assert missing.fix.endswith('CREATE PUBLICATION "flusso" FOR TABLE "public"."items", "public"."reviews";')


def test_an_incomplete_publication_without_management_gives_the_alter(shop_url: str, make_config: MakeConfig) -> None:
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute("CREATE PUBLICATION flusso_partial FOR TABLE items")
    found = check_online(make_config(shop_url, manage_publication=False), slot="flusso", publication="flusso_partial")
    [missing] = [d for d in found if "publication" in d.message]
    assert missing.fix.endswith('ALTER PUBLICATION "flusso_partial" ADD TABLE "public"."reviews";')


def test_a_missing_publication_flusso_may_create_is_a_warning(shop_url: str, make_config: MakeConfig) -> None:
    found = check_online(make_config(shop_url), slot="flusso", publication="flusso")
    [missing] = [d for d in found if "publication" in d.message]
    assert missing.severity == "warning" and "flusso will fix this at start" in missing.message


def test_a_role_that_cannot_create_the_publication_gets_the_sql(plain_role_url: str, make_config: MakeConfig) -> None:
    found = check_online(make_config(plain_role_url), slot="flusso", publication="flusso")
    [missing] = [d for d in found if "publication" in d.message]
    assert missing.is_error and "CREATE on the database" in missing.message
    assert missing.fix.endswith('CREATE PUBLICATION "flusso" FOR TABLE "public"."items", "public"."reviews";')


def test_a_covering_publication_is_silent(shop_url: str, make_config: MakeConfig) -> None:
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute("CREATE PUBLICATION flusso FOR TABLE items, reviews")
    found = check_online(make_config(shop_url, manage_publication=False), slot="flusso", publication="flusso")
    assert not [d for d in found if "publication" in d.message]


def test_a_publication_leaving_out_deletes_is_an_error(shop_url: str, make_config: MakeConfig) -> None:
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute("CREATE PUBLICATION flusso FOR TABLE items, reviews WITH (publish = 'insert, update')")
    found = check_online(make_config(shop_url), slot="flusso", publication="flusso")
    assert any(d.is_error and "does not publish delete" in d.message for d in found)
