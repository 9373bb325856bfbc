"""The dbt project in `dbt_project/`, and what each data directory keeps of it.

The project's files stay in `dbt_project/`; what dbt writes for a data directory lives under
`<data dir>/dbt/`: its profile (the project's `profiles.yml` with that directory's warehouse
file), the prepared manifest (`target/manifest.json`, which the Dagster code location reads: it
never parses the project) and each Dagster build's artifacts (`runs/<run id>`). `prepare()` parses
only when a project file is newer than the manifest; dbt reuses its parse
(`partial_parse.msgpack`, about 8 s a run) only for the profile it was made with.

dagster-dbt's `DbtProject.prepare_if_dev()` parses only under `dagster dev`, into the project
folder every data directory shares; `playground run`, `playground materialize` and the tests need
a manifest per data directory, prepared outside `dagster dev` too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from playground.config.files import write_private
from playground.config.settings import Settings, get_settings, project_root

# The project's profiles.yml reads it, so that `dbt` run by hand in `dbt_project/` works too.
PATH_VARIABLE = "DBT_DUCKDB_PATH"
_SOURCES = ("models", "macros", "tests", "dbt_project.yml", "profiles.yml")


class DbtProjectError(RuntimeError):
    """The dbt project cannot be prepared or run; the message says why and what to do."""


def project_dir() -> Path:
    return project_root() / "dbt_project"


def dbt_dir(settings: Settings | None = None) -> Path:
    """`<data dir>/dbt`: the profile, the manifest and the builds' artifacts of one data dir."""
    return (settings or get_settings()).data_dir / "dbt"


def target_dir(settings: Settings | None = None) -> Path:
    return dbt_dir(settings) / "target"


def manifest_path(settings: Settings | None = None) -> Path:
    return target_dir(settings) / "manifest.json"


def tables_file(settings: Settings | None = None) -> Path:
    """Where the dbt asset leaves the lakehouse tables' metadata files for the dbt-duckdb plugin
    (`dbt_lakehouse`) during a build; removed after it."""
    return dbt_dir(settings) / "lakehouse-tables.json"


def profiles_dir(settings: Settings | None = None) -> Path:
    """The folder of this data directory's `profiles.yml`, written from the project's own."""
    settings = settings or get_settings()
    profiles = yaml.safe_load((project_dir() / "profiles.yml").read_text("utf-8"))
    for output in profiles["playground"]["outputs"].values():
        output["path"] = str(settings.duckdb_path)
        # dbt-duckdb names the database after the path read as a URL, which a `#` or `?` in the
        # data directory cuts short; DuckDB names it after the file. Say which, through an
        # attach of the same file that is a no-op (IF NOT EXISTS) but lets dbt-duckdb accept it.
        output["database"] = settings.duckdb_path.stem
        output["attach"] = [{"path": str(settings.duckdb_path), "alias": output["database"]}]
        for plugin in output.get("plugins", []):
            if plugin.get("module", "").endswith("dbt_lakehouse"):
                plugin.setdefault("config", {})["tables_file"] = str(tables_file(settings))
    text = "# Written from dbt_project/profiles.yml for this data directory.\n" + yaml.safe_dump(
        profiles, sort_keys=False
    )
    path = dbt_dir(settings) / "profiles.yml"
    if not path.is_file() or path.read_text("utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_private(path, text)
    return path.parent


def run_target(settings: Settings, run_id: str) -> Path:
    """The artifacts folder of one Dagster build, holding a copy of the data directory's parse
    (`partial_parse.msgpack`) so that the build reuses it instead of parsing again (about 8 s)."""
    folder = dbt_dir(settings) / "runs" / run_id
    folder.mkdir(parents=True, exist_ok=True)
    parsed = target_dir(settings) / "partial_parse.msgpack"
    if parsed.is_file():
        shutil.copy2(parsed, folder / parsed.name)
    return folder


def executable() -> Path:
    """The `dbt` beside this Python (a learner's PATH need not include the virtualenv)."""
    return Path(sys.executable).parent / "dbt"


def env() -> dict[str, str]:
    """The environment dbt runs with (passed to its process; this one's is left alone)."""
    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def newest_source() -> float:
    root = project_dir()
    newest = 0.0
    for name in _SOURCES:
        path = root / name
        files = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def is_prepared(settings: Settings | None = None) -> bool:
    """The data directory's manifest exists and is newer than every project file."""
    manifest = manifest_path(settings)
    return manifest.is_file() and manifest.stat().st_mtime >= newest_source()


def run(args: list[str], settings: Settings | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run `dbt <args>` on the project with the data directory's profile and target folder."""
    command = [str(executable()), *args, "--project-dir", str(project_dir())]
    environment = {**env(), "DBT_PROFILES_DIR": str(profiles_dir(settings)),
                   "DBT_TARGET_PATH": str(target_dir(settings))}  # fmt: skip
    return subprocess.run(command, env=environment, cwd=project_dir(), **kwargs)


def prepare(force: bool = False, settings: Settings | None = None, progress=print) -> bool:
    """Write the data directory's manifest with `dbt parse` unless it is current; True if it
    parsed."""
    settings = settings or get_settings()
    if not force and is_prepared(settings):
        return False
    progress("preparing the dbt project (dbt parse)")
    done = run(["parse", "--quiet"], settings, capture_output=True, text=True)
    if done.returncode != 0:
        raise DbtProjectError(
            f"`dbt parse` failed in {project_dir()}:\n{(done.stdout + done.stderr).strip()}"
        )
    manifest_path(settings).touch()  # parse may leave an unchanged file with its old time
    return True
