"""The `flusso` command: parses arguments and dispatches; each command's work lives in its module."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from collections.abc import Callable

from flusso_engine import daemon, logs
from flusso_engine.backends import RunOptions
from flusso_engine.errors import ConfigError, FlussoError
from flusso_engine.policy import BatchPolicy
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


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"FLUSSO_{name}", default)


def _env_flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes", "on")


def _run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level, args.log_format)
    options = RunOptions(
        slot=args.slot, publication=args.publication, manage_publication=args.manage_publication,
        index_prefix=args.index_prefix, transport=args.transport, skip_backfill=args.skip_backfill,
        queue_capacity=args.queue_capacity, batch=BatchPolicy(args.batch_size, args.batch_delay / 1000), pretty=args.pretty,
    )
    return daemon.run(daemon.RunCommand(Path(args.config) if args.config else None, options, args.until_caught_up))


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="backfill unseeded indexes, then follow live changes (every flag also reads FLUSSO_<FLAG>)")
    run.add_argument("--config", default=_env("CONFIG"), help=f"path to flusso.toml (default: ${CONFIG_ENV} or ./flusso.toml)")
    run.add_argument("--slot", default=_env("SLOT", "flusso"), help="replication slot name (default: flusso)")
    run.add_argument("--publication", default=_env("PUBLICATION", "flusso"), help="publication name (default: flusso)")
    run.add_argument("--manage-publication", type=_bool, default=_bool(_env("MANAGE_PUBLICATION")) if _env("MANAGE_PUBLICATION") else None,
                     help="create/extend the publication (overrides [source] manage_publication)")
    run.add_argument("--index-prefix", default=_env("INDEX_PREFIX"), help="overrides the config's prefix")
    run.add_argument("--transport", choices=("wal", "polling"), default=_env("TRANSPORT", "wal"),
                     help="wal: streaming replication; polling: SQL polling of the slot (for poolers that refuse replication)")
    run.add_argument("--skip-backfill", action="store_true", default=_env_flag("SKIP_BACKFILL"), help="never backfill, even unseeded indexes")
    run.add_argument("--until-caught-up", action="store_true", default=_env_flag("UNTIL_CAUGHT_UP"),
                     help="exit 0 once every index is seeded and the live stream has caught up")
    run.add_argument("--queue-capacity", type=int, default=int(_env("QUEUE_CAPACITY", "1024")), help="changes buffered between capture and worker")
    run.add_argument("--batch-size", type=int, default=int(_env("BATCH_SIZE", "256")), help="max changes per flush (default 256)")
    run.add_argument("--batch-delay", type=float, default=float(_env("BATCH_DELAY", "50")), help="max ms a batch waits to fill (default 50)")
    run.add_argument("--pretty", action="store_true", default=_env_flag("PRETTY"), help="pretty stdout output when no sink is configured")
    run.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=_env("LOG_LEVEL", "info"))
    run.add_argument("--log-format", choices=("text", "json"), default=_env("LOG_FORMAT", "text"))
    run.set_defaults(run=_run)


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

    _add_run(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ConfigError as exc:
        print(f"flusso: invalid configuration\n{exc}", file=sys.stderr)
        return 2
    except FlussoError as exc:
        print(f"flusso: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
