"""Superset's one-time set-up, safe to run again (init.sh runs it: the compose stack's superset-init
service on every `docker compose up`, and `playground bi start` without Docker, with its own paths
in DASHBOARDS_DIR, WAREHOUSE_URI and TRINO_URI; TRINO_URI is empty when Trino is not running).

Each step is the Superset command named beside it, run in this one process: Superset's app starts
once, not once per command (about 4 s each). Arguments given here appear on no command line,
which `ps` shows to every user of the machine; the admin's password comes from the environment.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from pathlib import Path

from flask.cli import ScriptInfo
from superset.app import create_app
from superset.cli.main import superset

HERE = Path(__file__).resolve().parent
WAREHOUSE = "duckdb:////warehouse/playground.duckdb?access_mode=read_only"  # the compose stack's


def main() -> None:
    app = create_app()

    def command(*args: str) -> None:
        """`superset <args>`, in this process, on this app."""
        info = ScriptInfo(create_app=lambda: app)
        superset.main(list(args), prog_name="superset", standalone_mode=False, obj=info)

    user, password = os.environ["SUPERSET_ADMIN_USER"], os.environ["SUPERSET_ADMIN_PASSWORD"]
    command("db", "upgrade")
    with app.app_context():
        from superset import security_manager

        exists = security_manager.find_user(username=user) is not None
    if exists:  # the password in the environment is the one that works, also after a change
        command("fab", "reset-password", "--username", user, "--password", password)
        print(f"admin {user} exists (password set from the environment)")
    else:
        command("fab", "create-admin", "--username", user, "--firstname", "Playground",
                "--lastname", "Admin", "--email", f"{user}@example.com",
                "--password", password)  # fmt: skip
    command("init")

    # Dashboards as code: the pagila dashboard, its charts and datasets, and the warehouse
    # database they read, as Superset's own export files. An import keeps what exists and adds
    # what is missing.
    dashboards = Path(os.environ.get("DASHBOARDS_DIR") or "/app/docker/dashboards")
    with tempfile.TemporaryDirectory() as bundle:
        archive = Path(bundle) / "pagila.zip"
        with zipfile.ZipFile(archive, "w") as out:
            for path in sorted((dashboards / "pagila").rglob("*")):
                out.write(path, path.relative_to(dashboards))
        command("import-dashboards", "--path", str(archive), "--username", user)

    # set-database-uri creates the database entry or updates its URI (this machine's paths).
    # DuckDB opens the warehouse read-only, so a pipeline run can write it while Superset is up.
    command("set-database-uri", "--database_name", "Warehouse (DuckDB)",
            "--uri", os.environ.get("WAREHOUSE_URI") or WAREHOUSE)  # fmt: skip
    if os.environ.get("TRINO_URI"):
        sys.path.insert(0, str(HERE))
        import lakehouse  # beside this file: what set-database-uri does, with Trino's password

        lakehouse.main(app)


if __name__ == "__main__":
    main()
