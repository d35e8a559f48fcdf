"""The server and role as logical replication needs them."""

from __future__ import annotations

import psycopg

from flusso_engine.preflight import check_online
from flusso_engine.preflight.facts import ServerSettings, read_settings
from flusso_engine.preflight.server import check_settings
from tests.schema_online.conftest import MakeConfig

READY = ServerSettings(wal_level="logical", max_replication_slots=10, max_wal_senders=10, slots_in_use=0)


def test_logical_wal_level_passes() -> None:
    assert check_settings(READY) == []


def test_replica_wal_level_is_an_error_with_the_setting_to_change() -> None:
    [found] = check_settings(ServerSettings("replica", 10, 10, 0))
    assert found.is_error and "wal_level is 'replica'" in found.message
    assert "ALTER SYSTEM SET wal_level = 'logical';" in found.fix


def test_no_replication_slots_is_an_error() -> None:
    [found] = check_settings(ServerSettings("logical", 0, 10, 0))
    assert "max_replication_slots" in found.message


def test_reads_the_settings_of_the_real_server(pg_database_url: str) -> None:
    with psycopg.connect(pg_database_url) as conn:
        settings = read_settings(conn)
    assert settings.wal_level == "logical" and settings.max_replication_slots > 0


def test_a_role_without_replication_is_named_with_the_fix(plain_role_url: str, make_config: MakeConfig) -> None:
    found = check_online(make_config(plain_role_url), slot="flusso", publication="flusso")
    [missing] = [d for d in found if "REPLICATION attribute" in d.message]
    assert missing.is_error and missing.index is None
    assert "ALTER ROLE" in missing.fix and "WITH REPLICATION;" in missing.fix


def test_a_role_without_select_is_named_per_table_with_the_grant(plain_role_url: str, make_config: MakeConfig) -> None:
    found = check_online(make_config(plain_role_url), slot="flusso", publication="flusso")
    denied = {d.path: d for d in found if "may not SELECT" in d.message}
    assert set(denied) == {"table", "reviews"}
    assert denied["table"].fix.startswith('run: GRANT SELECT ON "public"."items" TO "plain_')


def test_a_slot_of_another_plugin_is_an_error(shop_url: str, make_config: MakeConfig, slot_name: str) -> None:
    with psycopg.connect(shop_url, autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (slot_name,))
    found = check_online(make_config(shop_url), slot=slot_name, publication="flusso")
    assert any(d.is_error and "test_decoding" in d.message for d in found)
