"""The online part of `flusso check`: the config held against the live database before a run."""

from flusso_engine.preflight.check import check_online, run_check
from flusso_engine.preflight.diagnostics import Diagnostic

__all__ = ["Diagnostic", "check_online", "run_check"]
