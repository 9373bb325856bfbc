import sys

from playground import doctor
from tests.helpers import run


def test_doctor_embedded_reports_every_component(settings) -> None:
    from playground.pagila import seed

    seed.seed(0.05, database=settings.pagila_db, progress=lambda _line: None)
    result = run([sys.executable, "-m", "playground.cli", "doctor"])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for component in ("mode", "data dir", "postgres", "pagila", "duckdb", "iceberg catalog"):
        assert any(line.startswith("ok") and f" {component} " in line for line in lines), component
    assert any("database 'pagila': 802 rentals" in line for line in lines)
    assert any("stack: trino" in line and "only needed in stack mode" in line for line in lines)
    assert "All required components are ready." in result.stdout


def test_doctor_stack_down_names_the_fix(stack_settings) -> None:
    checks = {c.component: c for c in doctor.checks(stack_settings)}
    for name in ("postgres", "stack: postgres", "stack: object store", "stack: trino"):
        assert not checks[name].ok
        assert checks[name].required
        assert checks[name].hint == "docker compose up --wait"
    assert not checks["iceberg catalog"].ok
    assert "FAIL" in checks["stack: trino"].line()
    assert "next: docker compose up --wait" in checks["stack: trino"].line()


def test_doctor_bad_setting(monkeypatch) -> None:
    monkeypatch.setenv("PLAYGROUND_MODE", "cloud")
    result = run([sys.executable, "-m", "playground.cli", "doctor"])
    assert result.returncode == 1
    assert "PLAYGROUND_MODE='cloud' is not a mode" in result.stdout
