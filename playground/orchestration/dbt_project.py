"""The dbt project in `dbt_project/`: where it is, its prepared manifest, and running dbt on it.

The Dagster code location reads `target/manifest.json` and never parses the project when it loads;
`prepare()` (run by `playground run`, `playground dbt prepare` and the test suite) parses it only
when a file of the project is newer than the manifest, or the warehouse file changed: dbt reuses
its parse (`partial_parse.msgpack`, about 8 s saved per run) only for the profile it was made with.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from playground.config.settings import Settings, get_settings, project_root

# dbt-duckdb opens this file (profiles.yml reads the variable)
PATH_VARIABLE = "DBT_DUCKDB_PATH"
_SOURCES = ("models", "macros", "tests", "dbt_project.yml", "profiles.yml")


class DbtProjectError(RuntimeError):
    """The dbt project cannot be prepared or run; the message says why and what to do."""


def project_dir() -> Path:
    return project_root() / "dbt_project"


def manifest_path() -> Path:
    return project_dir() / "target" / "manifest.json"


def executable() -> Path:
    """The `dbt` beside this Python (a learner's PATH need not include the virtualenv)."""
    return Path(sys.executable).parent / "dbt"


def env(settings: Settings | None = None) -> dict[str, str]:
    """The environment dbt runs with: the warehouse file of the current settings."""
    settings = settings or get_settings()
    return {
        **os.environ,
        PATH_VARIABLE: str(settings.duckdb_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def _newest_source() -> float:
    root = project_dir()
    newest = 0.0
    for name in _SOURCES:
        path = root / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def _prepared_for() -> Path:
    return project_dir() / "target" / "prepared_for"


def is_prepared(settings: Settings | None = None) -> bool:
    """The manifest exists and is newer than every project file (and, given settings, was
    parsed for their warehouse file)."""
    manifest = manifest_path()
    if not manifest.is_file() or manifest.stat().st_mtime < _newest_source():
        return False
    if settings is None:
        return True
    marker = _prepared_for()
    return marker.is_file() and marker.read_text("utf-8") == str(settings.duckdb_path)


def run(args: list[str], settings: Settings | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run `dbt <args>` in the project folder with its profile and the current settings."""
    command = [str(executable()), *args, "--project-dir", str(project_dir()),
               "--profiles-dir", str(project_dir())]  # fmt: skip
    return subprocess.run(command, env=env(settings), cwd=project_dir(), **kwargs)


def prepare(force: bool = False, settings: Settings | None = None, progress=print) -> bool:
    """Write the manifest with `dbt parse` unless it is current; True if it parsed."""
    settings = settings or get_settings()
    if not force and is_prepared(settings):
        return False
    progress("preparing the dbt project (dbt parse)")
    done = run(["parse", "--quiet"], settings, capture_output=True, text=True)
    if done.returncode != 0:
        raise DbtProjectError(
            f"`dbt parse` failed in {project_dir()}:\n{(done.stdout + done.stderr).strip()}"
        )
    manifest_path().touch()  # parse may leave an unchanged file with its old time
    _prepared_for().write_text(str(settings.duckdb_path), "utf-8")
    return True
