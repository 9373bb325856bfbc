from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from playground.settings import Settings, get_settings


@pytest.fixture
def settings() -> Settings:
    """Settings of the suite's shared data directory (see the root conftest)."""
    return get_settings()


@pytest.fixture
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of the test's own (its catalog is empty)."""
    data = tmp_path / "data"
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    yield data
    from playground import postgres

    if (data / "pgdata").is_dir():  # a test that started a server there has it stopped here
        postgres.stop(get_settings())


@pytest.fixture
def stack_settings(settings: Settings) -> Settings:
    """Stack-mode settings pointing at ports where nothing listens."""
    from tests.helpers import free_port

    return replace(
        settings,
        mode="stack",
        pg_port=free_port(),
        trino_port=free_port(),
        s3_endpoint=f"http://127.0.0.1:{free_port()}",
    )
