"""Set up Metabase from the environment: the admin user, then the lakehouse and warehouse databases.

Runs once per `docker compose up` (the one-shot `metabase-init` service) and is idempotent: on a
Metabase that is already set up it logs in as the admin and adds only the databases it lacks.
Standard library only. Environment (from .env through docker-compose.yml):

    METABASE_URL, MB_ADMIN_EMAIL, MB_ADMIN_PASSWORD, TRINO_HOST, TRINO_PORT, TRINO_USER,
    TRINO_CATALOG, DUCKDB_FILE
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request


class SetupError(RuntimeError):
    pass


class Metabase:
    def __init__(self, url: str) -> None:
        self.url, self.session = url.rstrip("/"), None

    def call(self, method: str, path: str, body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if self.session:
            headers["X-Metabase-Session"] = self.session
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                text = response.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode()[:500]
            raise SetupError(f"{method} {path}: HTTP {exc.code} {detail}") from None
        return json.loads(text) if text else None

    def database_names(self) -> set[str]:
        """Names of the registered databases (newer releases wrap the list in {"data": ...})."""
        listed = self.call("GET", "/api/database")
        return {d["name"] for d in (listed["data"] if isinstance(listed, dict) else listed)}

    def wait_healthy(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if (self.call("GET", "/api/health") or {}).get("status") == "ok":
                    return
            except (OSError, SetupError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"Metabase at {self.url} is not healthy after {seconds:.0f} s")
            time.sleep(2)


def databases(env: dict[str, str]) -> list[dict]:
    """The databases Playground registers: Trino's iceberg catalog and the DuckDB file."""
    return [
        {
            "name": "Lakehouse (Trino)",
            "engine": "starburst",  # Metabase's Trino driver
            "details": {
                "host": env["TRINO_HOST"], "port": int(env["TRINO_PORT"]),
                "catalog": env["TRINO_CATALOG"], "user": env["TRINO_USER"], "ssl": False,
            },
        },
        {
            "name": "Warehouse (DuckDB)",
            "engine": "duckdb",
            "details": {"database_file": env["DUCKDB_FILE"], "read_only": True},
        },
    ]  # fmt: skip


def setup(env: dict[str, str], wait_seconds: float = 300, print_=print) -> list[str]:
    """Create the admin (first run) or log in, then add missing databases; return what was added."""
    metabase = Metabase(env["METABASE_URL"])
    metabase.wait_healthy(wait_seconds)
    email, password = env["MB_ADMIN_EMAIL"], env["MB_ADMIN_PASSWORD"]
    properties = metabase.call("GET", "/api/session/properties")
    token = properties.get("setup-token")
    if token and not properties.get("has-user-setup"):
        user = {"email": email, "password": password, "first_name": "Playground",
                "last_name": "Admin", "site_name": "Playground"}  # fmt: skip
        prefs = {"site_name": "Playground", "allow_tracking": False}
        metabase.session = metabase.call(
            "POST", "/api/setup", {"token": token, "user": user, "prefs": prefs}
        )["id"]
        print_(f"created the Metabase admin {email}")
    else:
        metabase.session = metabase.call(
            "POST", "/api/session", {"username": email, "password": password}
        )["id"]
        print_(f"logged in as {email}")
    existing = metabase.database_names()
    added = []
    for database in databases(env):
        if database["name"] in existing:
            print_(f"database {database['name']!r} already registered")
            continue
        metabase.call("POST", "/api/database", database)
        added.append(database["name"])
        print_(f"registered database {database['name']!r}")
    return added


def main() -> int:
    needed = ["METABASE_URL", "MB_ADMIN_EMAIL", "MB_ADMIN_PASSWORD", "TRINO_HOST", "TRINO_PORT",
              "TRINO_USER", "TRINO_CATALOG", "DUCKDB_FILE"]  # fmt: skip
    missing = [name for name in needed if not os.environ.get(name)]
    if missing:
        print(f"metabase setup: set {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        setup({name: os.environ[name] for name in needed})
    except SetupError as exc:
        print(f"metabase setup: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
