"""A wrong flag or config is one clear line on stderr and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

from tests.cli.support import flusso


def test_a_bad_flag_value_is_one_line_and_exit_2() -> None:
    done = flusso("run", "--batch-size", "many")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["flusso run: argument --batch-size: expected a whole number, got 'many' (see flusso run --help)"]


def test_a_bad_status_address_is_one_line_and_exit_2() -> None:
    done = flusso("run", "--status-address", "localhost")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "--status-address" in done.stderr


def test_a_broken_config_is_one_line_and_exit_2_without_secrets(tmp_path: Path) -> None:
    config = tmp_path / "flusso.toml"
    config.write_text('[source]\ntype = "postgres"\nconnection_url = "postgresql://u:s3cret@nowhere/db"\nbogus = 1\n')
    done = flusso("indexes", "--config", str(config))
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "s3cret" not in done.stderr


def test_the_reference_public_address_flag_names_the_status_surface() -> None:
    from flusso_engine.cli import build_parser

    assert build_parser().parse_args(["run", "--public-address", "127.0.0.1:9999"]).status_address == ("127.0.0.1", 9999)
