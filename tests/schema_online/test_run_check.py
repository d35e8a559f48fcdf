"""What `flusso check` prints and returns."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from flusso_engine.preflight import run_check
from flusso_engine.schema import load_config
from tests.schema_online.conftest import ITEM_FIELDS, MakeConfig


def test_the_demo_store_and_its_config_pass(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run_check(load_config(demo_config), offline=False, slot="flusso", publication="flusso", fmt="json")
    online = json.loads(capsys.readouterr().out)["online"]
    assert (code, online["errors"]) == (0, 0), online["diagnostics"]


def test_exits_non_zero_on_an_error(shop_url: str, make_config: MakeConfig, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(shop_url, ITEM_FIELDS.replace("- text: title", "- text: headline"))
    assert run_check(config, offline=False, slot="flusso", publication="flusso", fmt="human") == 1
    out = capsys.readouterr().out
    assert "index items:\n  error   headline: column public.items.headline does not exist" in out


def test_offline_never_connects(make_config: MakeConfig, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config("postgresql://nobody@127.0.0.1:1/nowhere")
    assert run_check(config, offline=True, slot="flusso", publication="flusso", fmt="human") == 0
    assert "online" not in capsys.readouterr().out


def test_an_unreachable_server_is_one_error_without_the_password(make_config: MakeConfig, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config("postgresql://flusso:hunter2-secret@127.0.0.1:1/nowhere")
    assert run_check(config, offline=False, slot="flusso", publication="flusso", fmt="json") == 1
    out = capsys.readouterr().out
    assert "hunter2-secret" not in out
    assert json.loads(out)["online"]["diagnostics"][0]["message"].startswith("cannot read postgres postgresql://flusso:***@")


def test_the_password_never_appears_in_either_format(shop_url: str, make_config: MakeConfig, capsys: pytest.CaptureFixture[str]) -> None:
    parts = urlsplit(shop_url)  # the test cluster trusts local TCP, so any password connects
    config = make_config(parts._replace(netloc=f"postgres:hunter2-secret@{parts.hostname}:{parts.port}").geturl())
    for fmt in ("human", "json"):
        run_check(config, offline=False, slot="flusso", publication="flusso", fmt=fmt)
        assert "hunter2-secret" not in capsys.readouterr().out


def test_flusso_check_runs_the_online_check_by_default(demo_config, capsys) -> None:  # noqa: ANN001
    from flusso_engine.cli import main

    assert main(["check", "--config", str(demo_config)]) == 0
    assert "online" in capsys.readouterr().out
