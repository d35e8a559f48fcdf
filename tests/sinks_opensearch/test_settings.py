"""Connection settings: secrets stay out of logs, nonsense is refused with the field's name."""

from __future__ import annotations

import pytest

from flusso_engine.sinks.opensearch import OpenSearchSettings


def test_the_password_never_appears_in_the_settings_repr() -> None:
    settings = OpenSearchSettings(url="https://search:9200", username="flusso", password="s3cret-value")
    assert "s3cret-value" not in repr(settings)


def test_a_batch_size_below_one_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        OpenSearchSettings(url="http://localhost:9200", batch_size=0)


def test_a_negative_state_refresh_interval_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="state_refresh_seconds"):
        OpenSearchSettings(url="http://localhost:9200", state_refresh_seconds=-1)
