"""`pytest --nbmake notebooks/promoted/`: what the promoted notebooks need to run.

The project's root conftest gives the run a data directory of its own (and stops its embedded
PostgreSQL at the end); this one starts that server before the first notebook, as `make run`
does before Dagster runs a promoted lesson. The notebooks build the rest themselves: lesson 00
writes the iris table if it is missing, lessons 02 and 04 seed pagila at SF 1 and extract it.
"""

from __future__ import annotations

import pytest

_started: list[bool] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not _started:
        from playground.config.settings import get_settings
        from playground.services import postgres

        postgres.start(get_settings(), progress=lambda _line: None)
        _started.append(True)
