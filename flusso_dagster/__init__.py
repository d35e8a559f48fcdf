"""flusso_dagster: the Dagster code location over flusso_engine's public API."""
