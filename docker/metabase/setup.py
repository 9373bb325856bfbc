"""Set up Metabase from the environment: the admin user, the lakehouse and warehouse databases, and
the pagila dashboard's questions (`questions.json`: the charts of Superset's pagila dashboard, as
native SQL on the warehouse).

Runs once per `docker compose up` (the one-shot `metabase-init` service) and is idempotent: on a
Metabase that is already set up it logs in as the admin, sets the lakehouse's connection again
(the password in .env may have changed) and adds only the databases, questions and dashboard it
lacks.

Trino asks for its login over HTTPS only: Metabase's Starburst driver (its Trino driver) gets the
user and password, `ssl` on, and, in its additional JDBC options, the Trino JDBC driver's
`SSLTrustStorePath` naming this install's certificate (a PEM file, which that driver reads as a
trust store), so the server is verified against it and nothing else.
Standard library only. Environment (from .env through docker-compose.yml):

    METABASE_URL, MB_ADMIN_EMAIL, MB_ADMIN_PASSWORD, TRINO_HOST, TRINO_PORT, TRINO_USER,
    TRINO_PASSWORD, TRINO_CERTIFICATE, TRINO_CATALOG, DUCKDB_FILE
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

QUESTIONS = Path(__file__).with_name("questions.json")
LAKEHOUSE = "Lakehouse (Trino)"
NEEDED = ["METABASE_URL", "MB_ADMIN_EMAIL", "MB_ADMIN_PASSWORD", "TRINO_HOST", "TRINO_PORT",
          "TRINO_USER", "TRINO_PASSWORD", "TRINO_CERTIFICATE", "TRINO_CATALOG",
          "DUCKDB_FILE"]  # fmt: skip


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
            detail = exc.read().decode()  # whole: main() takes secrets out, then shortens it
            raise SetupError(f"{method} {path}: HTTP {exc.code} {detail}") from None
        return json.loads(text) if text else None

    def database_names(self) -> set[str]:
        """Names of the registered databases (newer releases wrap the list in {"data": ...})."""
        return {d["name"] for d in self.listed("/api/database")}

    def listed(self, path: str) -> list[dict]:
        """A list endpoint's items (newer releases wrap some lists in {"data": ...})."""
        found = self.call("GET", path)
        return found["data"] if isinstance(found, dict) else found

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
            "name": LAKEHOUSE,
            "engine": "starburst",  # Metabase's Trino driver
            "details": {
                "host": env["TRINO_HOST"], "port": int(env["TRINO_PORT"]),
                "catalog": env["TRINO_CATALOG"], "user": env["TRINO_USER"],
                "password": env["TRINO_PASSWORD"], "ssl": True,
                # appended to the JDBC URL; the path has no `&` or `=` (compose names it)
                "additional-options": f"SSLTrustStorePath={env['TRINO_CERTIFICATE']}",
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
    existing = {d["name"]: d["id"] for d in metabase.listed("/api/database")}
    added = []
    for database in databases(env):
        if database["name"] == LAKEHOUSE and LAKEHOUSE in existing:
            # an earlier registration may lack the login, or hold an old password
            metabase.call("PUT", f"/api/database/{existing[LAKEHOUSE]}", database)
            print_(f"database {LAKEHOUSE!r} already registered: its connection set again")
            continue
        if database["name"] in existing:
            print_(f"database {database['name']!r} already registered")
            continue
        metabase.call("POST", "/api/database", database)
        added.append(database["name"])
        print_(f"registered database {database['name']!r}")
    added += dashboard(metabase, print_)
    return added


def dashboard(metabase: Metabase, print_=print) -> list[str]:
    """The pagila questions on the warehouse and their dashboard, each created if missing."""
    spec = json.loads(QUESTIONS.read_text())
    warehouse = next(d["id"] for d in metabase.listed("/api/database")
                     if d["name"] == "Warehouse (DuckDB)")  # fmt: skip
    cards = {card["name"]: card["id"] for card in metabase.listed("/api/card")}
    added = []
    for question in spec["questions"]:
        if question["name"] in cards:
            continue
        cards[question["name"]] = metabase.call("POST", "/api/card", {
            "name": question["name"], "display": question["display"],
            "visualization_settings": {}, "collection_id": None,
            "dataset_query": {"type": "native", "database": warehouse,
                              "native": {"query": question["sql"]}},
        })["id"]  # fmt: skip
        added.append(question["name"])
        print_(f"created the question {question['name']!r}")
    if any(d["name"] == spec["dashboard"] for d in metabase.listed("/api/dashboard")):
        return added
    board = metabase.call("POST", "/api/dashboard", {"name": spec["dashboard"]})["id"]
    dashcards = [
        {"id": -index, "card_id": cards[q["name"]], "row": q["row"], "col": q["col"],
         "size_x": q["size_x"], "size_y": q["size_y"]}
        for index, q in enumerate(spec["questions"], start=1)
    ]  # fmt: skip
    metabase.call("PUT", f"/api/dashboard/{board}", {"dashcards": dashcards})
    print_(f"created the dashboard {spec['dashboard']!r}")
    return [*added, spec["dashboard"]]


def _redacted(message: str) -> str:
    """Metabase's answer without a password it may repeat (as written, or escaped in JSON)."""
    for name in ("MB_ADMIN_PASSWORD", "TRINO_PASSWORD"):
        secret = os.environ[name]
        forms = (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1])
        for form in forms:
            message = message.replace(form, "***")
    return message


def main() -> int:
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        print(f"metabase setup: set {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        setup({name: os.environ[name] for name in NEEDED})
    except SetupError as exc:
        print(f"metabase setup: {_redacted(str(exc))[:700]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
