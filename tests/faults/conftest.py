"""The fault suite: real processes with production defaults, each test
printing its figures (requests, errors, lost, doubled, lag).

Every test collected here carries the `faults` mark (`-m faults` runs only
them, `-m "not faults"` leaves them out). They build on tests/conftest.py:
the same database, Redis and environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


_LINES: list[str] = []


def figures(name: str, **values) -> str:
    """One line of figures: printed, and repeated in the run's summary (so CI
    logs carry them without -s)."""
    line = f"{name}: " + ", ".join(f"{k}={v}" for k, v in values.items())
    print("FIGURES " + line)
    _LINES.append(line)
    return line


def pytest_terminal_summary(terminalreporter):
    if _LINES:
        terminalreporter.section("fault figures")
        for line in _LINES:
            terminalreporter.write_line(line)
