"""The `flusso` command: parses arguments and dispatches; each command's work lives in its module."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from flusso_engine.errors import ConfigError
from flusso_engine.schema import load_config
from flusso_engine.schema.json_schemas import json_schema
from flusso_engine.schema.loader import CONFIG_ENV
from flusso_engine.schema.report import render_human, render_json


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    print(render_json(config) if args.format == "json" else render_human(config))
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(args.kind), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flusso", description="Keep OpenSearch in sync with Postgres.")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate the config and every schema; print each index's mapping")
    check.add_argument("--config", help=f"path to flusso.toml (default: ${CONFIG_ENV} or ./flusso.toml)")
    check.add_argument("--format", choices=("human", "json"), default="human")
    check.set_defaults(run=_check)

    schema = commands.add_parser("schema", help="print the JSON Schema of a file format, for editor assist")
    schema.add_argument("kind", choices=("config", "index"))
    schema.set_defaults(run=_schema)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ConfigError as exc:
        print(f"flusso: invalid configuration\n{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
