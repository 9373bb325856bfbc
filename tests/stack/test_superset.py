"""Superset without Docker (`playground bi`), for real: the pagila dashboard's charts against the
marts they read, a pipeline run while Superset is up, and stop/start by PID (see the `superset`
fixture in tests/conftest.py)."""

import json

import duckdb
import pytest

from playground.config.settings import get_settings
from playground.engines import trino
from playground.orchestration import pipeline
from playground.services import postgres, processes
from playground.services.net import port_free
from playground.stack import superset
from tests.helpers import LOOPBACK, exited, listening

pytestmark = [pytest.mark.bi, pytest.mark.slow]

CHARTS = {
    "Revenue by month": "select month, sum(revenue) as revenue from marts.revenue_by_month "
    "group by month order by month",
    "Sales by category": "select category, sum(total_sales) as sales "
    "from marts.sales_by_film_category group by category order by sales desc",
    "Sales by store (top 10)": "select store, manager, total_sales from marts.sales_by_store",
    "Top customers": "select name, rentals, total_paid from marts.orders_by_customer",
    "Late returns by store (top 10)": "select store_id, rentals, late_returns, late_percent "
    "from marts.late_returns_by_store",
}
RANKED_BY = {"Sales by store (top 10)": "total_sales", "Top customers": "total_paid",
             "Late returns by store (top 10)": "late_returns"}  # fmt: skip


def _marts(sql: str) -> list[dict]:
    """The marts as BI reads them: the warehouse file, read-only."""
    with duckdb.connect(str(get_settings().duckdb_path), read_only=True) as con:
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        return [
            {n: float(v) if hasattr(v, "as_tuple") else v for n, v in zip(names, row, strict=True)}
            for row in result.fetchall()
        ]


def _charts(client: superset.Client) -> dict[str, int]:
    return {chart["slice_name"]: chart["id"] for chart in client.dashboard_charts("pagila")}


def test_bi_start_serves_the_dashboard_with_the_warehouse(superset_running) -> None:
    assert superset_running.running and "/superset/dashboard/pagila/" in superset_running.detail
    # uv's locks for the source packages it built (four) are in the data directory, not in /tmp
    assert list((superset.home(get_settings()) / "tmp").glob("uv-setuptools-*.lock"))
    record = processes.running(superset.home(get_settings()) / "superset.json")
    sockets = listening({record["pid"]})
    assert get_settings().superset_port in {port for _, _, port in sockets}
    assert [s for s in sockets if s[1] not in LOOPBACK] == []  # nothing beyond loopback
    client = superset.Client()
    # the warehouse always; the lakehouse too once a test registered the suite's Trino
    names = client.database_names()
    assert "Warehouse (DuckDB)" in names and names <= {"Warehouse (DuckDB)", "Lakehouse (Trino)"}
    assert sorted(_charts(client)) == sorted(CHARTS)


def test_every_chart_returns_the_rows_of_its_mart(superset_running) -> None:
    client = superset.Client()
    for name, chart_id in _charts(client).items():
        rows, mart = client.chart_rows(chart_id), _marts(CHARTS[name])
        if name in RANKED_BY:  # the top 10 by a measure: its values, and each row is the mart's
            key = RANKED_BY[name]
            assert [r[key] for r in rows] == sorted((m[key] for m in mart), reverse=True)[:10]
            assert all(row in mart for row in rows), name
        else:
            assert rows == mart, name
    (payments,) = postgres.connect("pagila").execute("select sum(amount) from payment").fetchone()
    revenue = client.chart_rows(_charts(client)["Revenue by month"])
    assert round(sum(r["revenue"] for r in revenue), 2) == float(payments)


def test_a_pipeline_run_while_superset_is_up_succeeds_and_shows(superset_running) -> None:
    """Superset opens the warehouse read-only and lets it go after each query, so dbt can write."""
    client = superset.Client()
    chart = _charts(client)["Revenue by month"]
    before = {r["month"]: r["revenue"] for r in client.chart_rows(chart)}
    with postgres.connect("pagila", autocommit=True) as conn:
        conn.execute(
            "update payment set amount = amount + 1 where payment_id = (select min(payment_id) "
            "from payment where payment_date >= '2022-05-01Z' and payment_date < '2022-06-01Z')"
        )
    stages = pipeline.materialize_pagila(progress=lambda _line: None)
    assert stages.failed_checks == []
    after = {r["month"]: r["revenue"] for r in client.chart_rows(chart)}
    assert round(after["2022-05"] - before["2022-05"], 2) == 1.0
    assert {m: v for m, v in after.items() if m != "2022-05"} == {
        m: v for m, v in before.items() if m != "2022-05"
    }


def test_stop_ends_the_recorded_process_and_start_comes_back(superset_running) -> None:

    settings = get_settings()
    pid = int(superset_running.detail.split("(pid ")[1].split(")")[0])
    assert superset.stop().detail == f"stopped Superset (pid {pid})"
    assert exited(pid)
    assert port_free(settings.superset_port)
    assert not superset.status().running and "`playground bi start`" in superset.status().detail
    assert superset.stop().detail == "Superset was not running"
    again = superset.start(
        progress=lambda _line: None
    )  # installed and set up: only the server starts
    assert again.running and f"(pid {pid})" not in again.detail
    assert sorted(_charts(superset.Client())) == sorted(CHARTS)


def test_metabase_asks_the_same_questions_with_the_same_answers(superset_running) -> None:
    """The compose Metabase's questions (docker/metabase/questions.json, SQL on the warehouse)
    return what Superset's charts of the same names show."""
    import json

    from playground.config.settings import project_root

    spec = json.loads((project_root() / "docker/metabase/questions.json").read_text())
    client = superset.Client()
    charts = _charts(client)
    assert [q["name"] for q in spec["questions"]] == list(CHARTS) and spec["dashboard"] == "pagila"
    for question in spec["questions"]:
        answer = _marts(question["sql"])
        shown = client.chart_rows(charts[question["name"]])
        key = RANKED_BY.get(question["name"])
        if key:  # ties at the tenth place may pick other rows: compare the ranked values
            assert [r[key] for r in answer] == [r[key] for r in shown], question["name"]
        else:
            assert answer == shown, question["name"]


@pytest.mark.stack
def test_with_trino_running_superset_registers_the_lakehouse_and_queries_it(
    superset_running, trino_stack, monkeypatch
) -> None:
    from playground.config.settings import env_name

    monkeypatch.setenv("PLAYGROUND_MODE", "stack")
    for field in ("trino_host", "trino_port", "trino_user", "trino_password"):
        monkeypatch.setenv(env_name(field), str(getattr(trino_stack, field)))
    settings = get_settings()
    login = trino.local_login(trino_stack)
    if login:  # the stack's Trino asks for its login: this data directory gets it, as `up` does
        import shutil

        target = trino.login_file(settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(trino.login_file(trino_stack), target)
        user = f"{login['user']}:{login['password']}"
        assert json.loads(superset.trino_extra(settings))["engine_params"]["connect_args"] == {
            "http_scheme": "https", "verify": login["certificate"],
        }  # fmt: skip
    else:
        user = settings.trino_user
    uri = f"trino://{user}@127.0.0.1:{trino_stack.trino_port}/iceberg"
    assert superset.trino_uri(settings) == uri
    lines: list[str] = []
    superset.initialise(settings, progress=lines.append)  # Trino alone, not init.sh again
    assert lines == ["registering Trino as Superset's lakehouse ..."]
    client = superset.Client(settings)
    assert client.database_names() == {"Warehouse (DuckDB)", "Lakehouse (Trino)"}
    (lakehouse,) = [d["id"] for d in client.call("GET", "/api/v1/database/")["result"]
                    if d["database_name"] == "Lakehouse (Trino)"]  # fmt: skip
    result = client.call("POST", "/api/v1/sqllab/execute/", {
        "database_id": lakehouse, "sql": "select count(*) as nations from tpch.tiny.nation",
        "runAsync": False,
    })  # fmt: skip
    assert result["data"] == [{"nations": 25}]


# The SECRET_KEY every install shared before keys were generated per data directory.
OLD_SHARED_KEY = "local-playground-superset-secret-change-me-anywhere-shared"
FORGE = """
import sys
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
app = Flask("forge")
app.secret_key = sys.argv[1]
serializer = SecureCookieSessionInterface().get_signing_serializer(app)
print(serializer.dumps({"_user_id": "1", "_fresh": True}))
"""


def _me_with_cookie(settings, key: str) -> int:
    """GET /api/v1/me/ with a session cookie for user 1 signed with `key`: the HTTP status."""
    import subprocess
    import urllib.error
    import urllib.request

    python = str(superset.home(settings) / "venv" / "bin" / "python")
    forged = subprocess.run([python, "-c", FORGE, key], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    request = urllib.request.Request(superset.url(settings) + "/api/v1/me/")
    request.add_header("Cookie", f"session={forged}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_cookie_signed_with_the_old_shared_key_is_refused(superset_running) -> None:
    settings = get_settings()
    assert settings.superset_secret_key != OLD_SHARED_KEY
    assert _me_with_cookie(settings, OLD_SHARED_KEY) == 401
    # the same forgery with this install's own key gets in: the check above can fail
    assert _me_with_cookie(settings, settings.superset_secret_key) == 200


def test_a_changed_admin_password_is_applied(superset_running, monkeypatch) -> None:
    old = get_settings().superset_admin_password
    # as things stand now (another test may have registered the suite's Trino, which leaves
    # nothing to run here): the next call is then about the password alone
    superset.initialise(get_settings(), progress=lambda _line: None)
    monkeypatch.setenv("PLAYGROUND_SUPERSET_ADMIN_PASSWORD", "a-new-password-1")
    lines: list[str] = []
    superset.initialise(get_settings(), progress=lines.append)
    assert lines == ["applying the changed Superset admin password ..."]
    assert superset.Client(get_settings()).database_names()  # the new password logs in
    monkeypatch.setenv("PLAYGROUND_SUPERSET_ADMIN_PASSWORD", old)
    with pytest.raises(superset.BIError, match="401"):
        superset.Client(get_settings())  # the old one no longer does
    superset.initialise(get_settings(), progress=lines.append)  # back, for the other tests
    assert superset.Client(get_settings()).database_names()
