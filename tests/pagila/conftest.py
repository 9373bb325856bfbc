from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from playground.datasets.pagila import seed
from playground.services import postgres

SHARED_PAGILA = Path(__file__).resolve().parents[3] / "shared" / "data" / "pagila"


@pytest.fixture(scope="session")
def seeded():
    """Seed a database once per (scale, seed); returns a connection factory."""
    made: dict[tuple, str] = {}

    def factory(scale: float, seed_value: int = 42) -> psycopg.Connection:
        key = (scale, seed_value)
        if key not in made:
            name = f"pagila_test_{str(scale).replace('.', '_')}_{seed_value}"
            seed.seed(scale, seed_value, database=name, progress=lambda _line: None)
            made[key] = name
        return psycopg.connect(postgres.url(made[key]))

    return factory


@pytest.fixture
def shared_pagila() -> Path:
    if not (SHARED_PAGILA / "pagila-data.sql").is_file():
        pytest.skip("upstream pagila is not beside the project (../shared/data/pagila)")
    return SHARED_PAGILA
