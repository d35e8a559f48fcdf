"""`flusso check` and `flusso schema`, driven through main(argv)."""

from __future__ import annotations

import json

import pytest

from flusso_engine.cli import main

from conftest import FIXTURE_ENV, VALID

CONFIG = str(VALID / "flusso.toml")


@pytest.fixture(autouse=True)
def fixture_secrets(monkeypatch):
    for name, value in FIXTURE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("FLUSSO_CONFIG", raising=False)


def test_check_prints_every_index_with_its_mapping(capsys):
    assert main(["check", "--offline", "--config", CONFIG]) == 0
    out = capsys.readouterr().out
    assert all(f"index   {name}" in out for name in ("users", "orders", "products", "line_items"))
    assert '"dynamic": "strict"' in out


def test_check_json_is_machine_readable(capsys):
    assert main(["check", "--offline", "--config", CONFIG, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [i["name"] for i in report["indexes"]] == ["users", "orders", "products", "line_items"]
    assert report["indexes"][0]["mapping"]["mappings"]["properties"]["email"]["type"] == "keyword"


@pytest.mark.parametrize("form", ["human", "json"])
def test_check_never_prints_secrets(capsys, form):
    main(["check", "--offline", "--config", CONFIG, "--format", form])
    out = capsys.readouterr().out
    assert "os-s3cret" not in out and "s3cret" not in out and "pg%20s3cret" not in out


def test_check_reads_the_config_path_from_flusso_config(capsys, monkeypatch):
    monkeypatch.setenv("FLUSSO_CONFIG", CONFIG)
    assert main(["check", "--offline"]) == 0
    assert "index   users" in capsys.readouterr().out


def test_check_defaults_to_flusso_toml_in_the_working_directory(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--offline"]) == 2
    assert "flusso.toml" in capsys.readouterr().err


def test_check_reports_config_errors_without_a_traceback(capsys, tmp_path):
    (tmp_path / "flusso.toml").write_text('[source]\ntype = "postgres"\nconnection_url = "postgres://u@h/db"\nmanage_publicaton = true\n')
    assert main(["check", "--offline", "--config", str(tmp_path / "flusso.toml")]) == 2
    err = capsys.readouterr().err
    assert "did you mean `manage_publication`" in err and "Fix:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["config", "index"])
def test_schema_prints_a_json_schema(capsys, kind):
    assert main(["schema", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["additionalProperties"] is False


def test_index_json_schema_offers_every_type_key(capsys):
    main(["schema", "index"])
    text = capsys.readouterr().out
    for tag in ("keyword", "many_to_many", "ids", "constant", "geo", "map", "custom"):
        assert f'"{tag}"' in text


def test_config_json_schema_lists_the_sink_settings(capsys):
    main(["schema", "config"])
    text = capsys.readouterr().out
    assert all(f'"{key}"' in text for key in ("batch_size", "text_analysis", "auto_subfields", "pretty"))


def test_unknown_command_is_a_usage_error():
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2
