"""On a terminal the backfill shows one line per index with its rate and, when the total is known, an ETA."""

from __future__ import annotations

import io

from flusso_engine.progress import BackfillLines


def test_a_line_with_a_known_total_has_percent_rate_and_eta() -> None:
    assert BackfillLines.line("users", 2500, 10000, 2.0) == "backfill users: 2,500/10,000 documents (25%), 1,250/s, ETA 6s"


def test_a_line_without_a_total_has_documents_and_rate() -> None:
    assert BackfillLines.line("orders", 300, None, 3.0) == "backfill orders: 300 documents, 100/s"


def test_a_redraw_first_erases_the_lines_drawn_before() -> None:
    out = io.StringIO()
    lines = BackfillLines(out)
    lines.draw({"users": 1, "orders": 2})
    out.truncate(0), out.seek(0)
    lines.draw({"users": 3})
    assert out.getvalue().startswith("\x1b[2F\x1b[J") and out.getvalue().count("\n") == 1
