"""The dbt project: prepared ahead of time, loaded without parsing, runnable by hand."""

import os
import re
import shutil
import subprocess
import time

import pytest

from playground.orchestration import dbt_project
from tests.helpers import BIN

pytestmark = pytest.mark.slow


def test_the_suite_started_with_a_current_manifest(settings) -> None:
    assert dbt_project.is_prepared(settings)
    assert dbt_project.prepare(settings=settings, progress=lambda _: None) is False


def test_an_edited_model_makes_the_manifest_stale(settings, tmp_path, monkeypatch) -> None:
    # a copy of the project: the suite's other workers read the real one's times meanwhile
    copy = tmp_path / "dbt_project"
    shutil.copytree(dbt_project.project_dir(), copy, ignore=shutil.ignore_patterns("logs"))
    monkeypatch.setattr(dbt_project, "project_dir", lambda: copy)
    assert dbt_project.is_prepared()
    model = copy / "models" / "marts" / "sales_by_store.sql"
    os.utime(model, (time.time() + 5, time.time() + 5))
    assert not dbt_project.is_prepared()


def test_the_code_location_refuses_a_stale_manifest_with_the_fix(fresh_data_dir) -> None:
    # the data directory's own manifest made older than every project file (dated 1970; the
    # project's files stay untouched: other workers of the suite load the code location meanwhile)
    os.utime(dbt_project.manifest_path(), (0, 0))
    loaded = subprocess.run(
        [str(BIN / "python"), "-c", "import playground.orchestration.definitions"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert loaded.returncode != 0
    assert "Run `playground dbt prepare`" in loaded.stderr


def test_definitions_validate_without_parsing_dbt_or_beta_warnings() -> None:
    started = time.monotonic()
    validated = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate",
         "-m", "playground.orchestration.definitions"],  # fmt: skip
        capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    output = validated.stdout + validated.stderr
    assert validated.returncode == 0, output[-3000:]
    assert "BetaWarning" not in output and "PreviewWarning" not in output
    assert "Running with dbt" not in output  # no dbt command ran
    print(f"dagster definitions validate: {seconds:.1f} s")


def test_dbt_by_hand_finds_the_lakehouse_without_dagster(settings) -> None:
    """`playground dbt ls` runs plain dbt: the plugin opens the catalog itself."""
    listed = subprocess.run(
        [str(BIN / "playground"), "dbt", "ls", "--resource-type", "source", "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert listed.returncode == 0, (listed.stdout + listed.stderr)[-2000:]
    sources = sorted(line for line in listed.stdout.splitlines() if line.startswith("source:"))
    assert len(sources) == 15 and "source:playground.pagila.payment" in sources


def test_dbt_targets_the_warehouse_of_a_data_directory_named_with_a_hash(
    tmp_path, monkeypatch
) -> None:
    """dbt-duckdb reads its path as a URL, cut at `#`: without the profile's `database` it
    would build into a catalog named `My Data`, which DuckDB does not have."""
    data = tmp_path / "My Data #1 é"
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", str(data))
    debug = dbt_project.run(["debug"], capture_output=True, text=True, check=False)
    assert debug.returncode == 0, (debug.stdout + debug.stderr)[-2000:]
    assert re.search(r"\sdatabase: playground$", debug.stdout, re.MULTILINE), debug.stdout
    query = ["show", "--inline", "select current_database() as db", "--output", "json", "--quiet"]
    shown = dbt_project.run(query, capture_output=True, text=True, check=False)
    assert '"db": "playground"' in shown.stdout, (shown.stdout + shown.stderr)[-2000:]
    assert [p.name for p in tmp_path.iterdir()] == [data.name]
