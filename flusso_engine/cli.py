"""The `flusso` command: parses arguments and dispatches; each command's work lives in its module."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import psycopg

from flusso_engine import daemon, indexes, logs
from flusso_engine.backends import RunOptions
from flusso_engine.errors import ConfigError, FlussoError
from flusso_engine.http_status import DEFAULT_ADDRESS, parse_address
from flusso_engine.policy import BatchPolicy
from flusso_engine.preflight import run_check
from flusso_engine.progress import LogProgress
from flusso_engine.reindex import reindex
from flusso_engine.backfill_totals import backfill_totals
from flusso_engine.schema import load_config
from flusso_engine.schema.json_schemas import json_schema
from flusso_engine.schema.loader import CONFIG_ENV


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    return run_check(config, offline=args.offline, slot=args.slot, publication=args.publication, fmt=args.format)


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(json_schema(args.kind), indent=2))
    return 0


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"FLUSSO_{name}", default)


def _env_flag(name: str) -> bool:
    return (_env(name) or "").lower() in ("1", "true", "yes", "on")


def _options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(
        slot=args.slot, publication=args.publication, manage_publication=args.manage_publication,
        index_prefix=args.index_prefix, transport=args.transport, skip_backfill=getattr(args, "skip_backfill", False),
        queue_capacity=args.queue_capacity, batch=BatchPolicy(args.batch_size, args.batch_delay / 1000),
        pretty=getattr(args, "pretty", False),
    )


def _run(args: argparse.Namespace) -> int:
    logs.configure(args.log_level, args.log_format)
    command = daemon.RunCommand(Path(args.config) if args.config else None, _options(args), args.until_caught_up,
                                status_address=args.status_address)
    return daemon.run(command)


def _indexes(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    prefix = config.prefix if args.index_prefix is None else args.index_prefix
    client = indexes.opensearch_client(config)
    try:
        reports = indexes.index_reports(config, client, prefix)
    finally:
        client.close()
    lag = indexes.slot_lag(config, args.slot)
    if args.format == "json":
        print(json.dumps(indexes.render_json(reports, args.slot, lag), indent=2))
    else:
        print(indexes.render_human(reports, args.slot, lag))
    return 0


def _reindex(args: argparse.Namespace) -> int:
    logs.configure(args.log_level, args.log_format)
    config = load_config(args.config)
    options = _options(args)
    reindex(config, options, args.index, LogProgress.for_stderr(10.0, backfill_totals(config)))
    prefix = config.prefix if options.index_prefix is None else options.index_prefix
    client = indexes.opensearch_client(config)
    try:
        report = next(r for r in indexes.index_reports(config, client, prefix) if r.name == args.index)
    finally:
        client.close()
    print(f"{args.index}: now served by {report.serving} ({report.documents:,} documents)")
    return 0


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes", "on"):
        return True
    if text.lower() in ("false", "0", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return parse


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected milliseconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def _add_source_flags(command: argparse.ArgumentParser) -> None:
    """What every command that touches the source and the sink needs to find them."""
    command.add_argument("--config", default=_env("CONFIG"), help=f"path to flusso.toml (default: ${CONFIG_ENV} or ./flusso.toml)")
    command.add_argument("--slot", default=_env("SLOT", "flusso"), help="replication slot name (default: flusso)")
    command.add_argument("--index-prefix", default=_env("INDEX_PREFIX"), help="overrides the config's prefix")


def _add_engine_flags(command: argparse.ArgumentParser) -> None:
    """What every command that runs the engine takes."""
    _add_source_flags(command)
    command.add_argument("--publication", default=_env("PUBLICATION", "flusso"), help="publication name (default: flusso)")
    command.add_argument("--manage-publication", type=_bool, default=_env("MANAGE_PUBLICATION"),
                         help="create/extend the publication (overrides [source] manage_publication)")
    command.add_argument("--transport", choices=("wal", "polling"), default=_env("TRANSPORT", "wal"),
                         help="wal: streaming replication; polling: SQL polling of the slot (for poolers that refuse replication)")
    command.add_argument("--queue-capacity", type=_count(1), default=_env("QUEUE_CAPACITY", "1024"), help="changes buffered between capture and worker")
    command.add_argument("--batch-size", type=_count(1), default=_env("BATCH_SIZE", "256"), help="max changes per flush (default 256)")
    command.add_argument("--batch-delay", type=_milliseconds, default=_env("BATCH_DELAY", "50"), help="max ms a batch waits to fill while an earlier one is still being flushed (default 50)")
    command.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default=_env("LOG_LEVEL", "info"))
    command.add_argument("--log-format", choices=("text", "json"), default=_env("LOG_FORMAT", "text"))


def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="backfill unseeded indexes, then follow live changes (every flag also reads FLUSSO_<FLAG>)")
    _add_engine_flags(run)
    # --public-address / FLUSSO_PUBLIC_ADDRESS are the reference CLI's names for the same surface.
    run.add_argument("--status-address", "--public-address", dest="status_address", type=parse_address,
                     default=_env("STATUS_ADDRESS", _env("PUBLIC_ADDRESS", DEFAULT_ADDRESS)),
                     help=f"serve /healthz /readyz /status /metrics here (default {DEFAULT_ADDRESS}; 0 disables)")
    run.add_argument("--skip-backfill", action="store_true", default=_env_flag("SKIP_BACKFILL"), help="never backfill, even unseeded indexes")
    run.add_argument("--until-caught-up", action="store_true", default=_env_flag("UNTIL_CAUGHT_UP"),
                     help="exit 0 once every index is seeded and the live stream has caught up")
    run.add_argument("--pretty", action="store_true", default=_env_flag("PRETTY"), help="pretty stdout output when no sink is configured")
    run.set_defaults(run=_run)


def _add_index_commands(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("indexes", help="each enabled index: serving and building generation, seeded, documents; slot lag")
    _add_source_flags(listing)
    listing.add_argument("--format", choices=("human", "json"), default=_env("FORMAT", "human"))
    listing.set_defaults(run=_indexes)

    rebuild = commands.add_parser("reindex", help="rebuild one index into a new generation and swap it in; safe next to a live run")
    rebuild.add_argument("index", help="the enabled index to rebuild")
    _add_engine_flags(rebuild)
    rebuild.set_defaults(run=_reindex)


class _Parser(argparse.ArgumentParser):
    """A usage error is one line naming the command and the flag, exit 2 (argparse's code)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flusso", description="Keep OpenSearch in sync with Postgres.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser("check", help="validate the config and every schema; print each index's mapping")
    check.add_argument("--config", help=f"path to flusso.toml (default: ${CONFIG_ENV} or ./flusso.toml)")
    check.add_argument("--format", choices=("human", "json"), default=_env("FORMAT", "human"))
    check.add_argument("--offline", action="store_true", default=_env_flag("OFFLINE"),
                       help="only validate the files; do not connect to the database")
    check.add_argument("--slot", default=_env("SLOT", "flusso"), help="replication slot the run will use (default: flusso)")
    check.add_argument("--publication", default=_env("PUBLICATION", "flusso"), help="publication the run will use (default: flusso)")
    check.set_defaults(run=_check)

    schema = commands.add_parser("schema", help="print the JSON Schema of a file format, for editor assist")
    schema.add_argument("kind", choices=("config", "index"))
    schema.set_defaults(run=_schema)

    _add_run(commands)
    _add_index_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except ConfigError as exc:
        print(f"flusso: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except FlussoError as exc:
        print(f"flusso: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:  # unreachable or refusing source; libpq never echoes the password
        print(f"flusso: cannot use the source database: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
