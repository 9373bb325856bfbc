"""The pagila pipeline run for real: a seeded PostgreSQL, 15 tables into Iceberg, checks, dbt."""

from datetime import UTC, datetime

import dagster as dg
import duckdb
import pytest

from playground import lakehouse
from playground.config.settings import get_settings
from playground.datasets.pagila import generate, keys
from playground.engines import duck
from playground.orchestration import pipeline
from playground.orchestration.definitions import defs
from playground.orchestration.defs.pagila import schedules
from playground.services import postgres
from tests.helpers import pipeline_on

pytestmark = pytest.mark.slow
DATABASE = "pagila_pipeline"


@pytest.fixture(scope="module")
def built():
    """pagila at SF 0.2 in its own database, materialized once by the pagila_daily job. The tests
    using it only read: the ones that change the source use `changed`."""
    with pipeline_on(DATABASE, 0.2, 42) as built:
        yield built


@pytest.fixture(scope="module")
def changed_data_dir(tmp_path_factory):
    """pagila at SF 0.05 materialized in a data directory of its own (built once), for the tests
    that change the source and run one month again: the order tests run in does not matter."""
    data = str(tmp_path_factory.mktemp("changed") / "data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLAYGROUND_DATA_DIR", data)
        with pipeline_on(DATABASE, 0.05, 7) as (_stages, instance):
            pass
    try:
        yield data, instance
    finally:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PLAYGROUND_DATA_DIR", data)
            postgres.stop(get_settings())


@pytest.fixture
def changed(changed_data_dir, monkeypatch):
    """This test's settings on that data directory (and pagila database); the Dagster instance."""
    data, instance = changed_data_dir
    monkeypatch.setenv("PLAYGROUND_DATA_DIR", data)
    monkeypatch.setenv("PLAYGROUND_PAGILA_DB", DATABASE)
    return instance


def _pg(sql: str, *params):
    with postgres.connect(DATABASE) as conn:
        return conn.execute(sql, params).fetchall()


def _warehouse(sql: str):
    """Query the marts the way BI does: the warehouse file opened read-only."""
    with duckdb.connect(str(get_settings().duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_table_lands_with_the_rows_postgres_holds(built) -> None:
    stages, _ = built
    assert sorted(stages.rows) == sorted(keys.TABLES)
    cat = lakehouse.catalog()
    for table in keys.TABLES:
        (count,) = _pg(f'select count(*) from "{table}"')[0]  # noqa: S608
        assert stages.rows[table] == count > 0, table
        assert cat.load_table(f"pagila.{table}").scan().to_arrow().num_rows == count, table


def test_every_check_ran_and_passed(built) -> None:
    stages, _ = built
    assert stages.failed_checks == []
    names = set(stages.passed_checks)
    for table in keys.TABLES:
        assert f"pagila/{table}:row_count_matches_source" in names
        assert f"pagila/{table}:primary_key" in names
        assert (f"pagila/{table}:foreign_keys" in names) == bool(keys.foreign_keys()[table])
    assert {"pagila/rental:freshness_check", "pagila/payment:freshness_check"} <= names
    dbt_checks = [n for n in names if n.startswith(("staging/", "marts/"))]
    assert "marts/sales_by_store:mart_totals_equal_payments" in dbt_checks
    assert any(":relationships_stg_payment_rental_id" in n for n in dbt_checks)
    assert any(":accepted_values_stg_film_rating" in n for n in dbt_checks)
    assert len(dbt_checks) == 66


def test_marts_hold_the_values_postgres_computes(built) -> None:
    (payments,) = _pg("select sum(amount) from payment")[0]
    totals = [("orders_by_customer", "total_paid"), ("sales_by_film", "revenue"),
              ("sales_by_staff", "revenue"), ("sales_by_store", "total_sales")]  # fmt: skip
    for mart, column in totals:
        assert _warehouse(f"select sum({column}) from marts.{mart}")[0][0] == payments, mart
    # pagila's own view semantics, computed by PostgreSQL from the source tables
    by_store = _pg(
        "select s.store_id, sum(p.amount) from payment p join rental r using (rental_id) "
        "join inventory i using (inventory_id) join store s on s.store_id = i.store_id "
        "group by s.store_id order by 1"
    )
    assert _warehouse("select store_id, total_sales from marts.sales_by_store order by 1") == [
        tuple(row) for row in by_store
    ]
    by_category = _pg(
        "select c.name, sum(p.amount) from payment p join rental r using (rental_id) "
        "join inventory i using (inventory_id) join film_category fc on fc.film_id = i.film_id "
        "join category c using (category_id) group by c.name order by 1"
    )
    assert _warehouse(
        "select category, total_sales from marts.sales_by_film_category order by 1"
    ) == [tuple(row) for row in by_category]
    rentals = _pg("select count(*) from rental")[0][0]
    assert _warehouse("select sum(rentals) from marts.sales_by_staff")[0][0] == rentals
    by_month = _pg(
        "select to_char(payment_date at time zone 'UTC', 'YYYY-MM'), count(*), sum(amount) "
        "from payment group by 1 order by 1"
    )
    assert _warehouse("select * from marts.revenue_by_month order by 1") == [
        tuple(row) for row in by_month
    ]
    late = _pg(
        "select i.store_id, count(*), count(*) filter (where r.return_date > r.rental_date "
        "+ f.rental_duration * interval '1 day') from rental r join inventory i "
        "using (inventory_id) join film f using (film_id) group by 1 order by 1"
    )
    assert _warehouse(
        "select store_id, rentals, late_returns from marts.late_returns_by_store order by 1"
    ) == [tuple(row) for row in late]
    assert (
        _warehouse("select count(*) from marts.films_by_category")[0][0]
        == _pg("select count(*) from film f left join film_category fc using (film_id)")[0][0]
    )


def test_table_assets_report_their_metadata(built) -> None:
    _, instance = built
    event = instance.get_latest_materialization_event(dg.AssetKey(["pagila", "payment"]))
    metadata = event.asset_materialization.metadata
    current = lakehouse.catalog().load_table("pagila.payment").current_snapshot()
    assert metadata["snapshot_id"].value == str(current.snapshot_id)
    assert metadata["dagster/row_count"].value == _pg("select count(*) from payment")[0][0]
    assert metadata["seconds"].value > 0 and metadata["rows_per_second"].value > 0
    columns = [c.name for c in metadata["dagster/column_schema"].value.columns]
    assert columns == ["payment_id", "customer_id", "staff_id", "rental_id", "amount",
                       "payment_date"]  # fmt: skip
    assert "months_replaced" not in metadata  # every month: the whole table is read and replaced


def _files_by_month(identifier: str) -> dict[str, set[str]]:
    table = lakehouse.catalog().load_table(identifier)
    found: dict[str, set[str]] = {}
    for task in table.scan().plan_files():
        found.setdefault(task.file.file_path.split("/")[-2], set()).add(task.file.file_path)
    return found


def test_one_month_is_replaced_alone_and_in_one_commit(changed) -> None:
    before = _files_by_month("pagila.payment")
    commits = len(lakehouse.catalog().load_table("pagila.payment").metadata.metadata_log)
    with postgres.connect(DATABASE) as conn:
        conn.execute(
            "update payment set amount = amount + 1 where payment_date >= '2022-05-01Z' "
            "and payment_date < '2022-06-01Z'"
        )
    stages = pipeline.materialize_pagila(
        get_settings(), changed, partition="2022-05-01", selection="key:pagila/payment",
        progress=lambda _: None,
    )  # fmt: skip
    assert stages.rows == {"payment": _pg(
        "select count(*) from payment where payment_date >= '2022-05-01Z' "
        "and payment_date < '2022-06-01Z'")[0][0]}  # fmt: skip
    assert "pagila/payment:primary_key" in stages.passed_checks
    assert "pagila/payment:row_count_matches_source" in stages.passed_checks
    after = _files_by_month("pagila.payment")
    may = [m for m in after if "2022-05" in m]
    assert may and after.keys() == before.keys()
    for month in after:
        assert (after[month] == before[month]) == (month not in may), month
    table = lakehouse.catalog().load_table("pagila.payment")
    assert len(table.metadata.metadata_log) == commits + 1  # one commit: delete and add together
    con = duck.connect()
    lakehouse.register_duckdb_view(con, "pagila.payment")
    assert (
        con.execute("select sum(amount) from payment").fetchone()[0]
        == _pg("select sum(amount) from payment")[0][0]
    )


def test_a_month_the_source_emptied_is_emptied(changed) -> None:
    last = generate.partitions()[-1]
    with postgres.connect(DATABASE) as conn:
        first = datetime(last.year, last.month, 1, tzinfo=UTC)  # the month in UTC, like Iceberg
        conn.execute("delete from payment where payment_date >= %s", (first,))
    pipeline.materialize_pagila(
        get_settings(), changed, partition=last.isoformat(), selection="key:pagila/payment",
        progress=lambda _: None,
    )  # fmt: skip
    rows = lakehouse.read("pagila.payment").num_rows
    assert rows == _pg("select count(*) from payment")[0][0]


def test_definitions_describe_the_pipeline() -> None:
    graph = defs.resolve_asset_graph()
    tables = {k.path[-1] for k in graph.get_all_asset_keys() if k.path[0] == "pagila"}
    assert tables == set(keys.TABLES)
    payment = defs.resolve_assets_def(dg.AssetKey(["pagila", "payment"]))
    assert payment.partitions_def.get_partition_keys() == [
        m.isoformat() for m in generate.partitions()
    ]
    assert defs.resolve_assets_def(dg.AssetKey(["pagila", "film"])).partitions_def is None
    staging = graph.get(dg.AssetKey(["staging", "stg_payment"]))
    assert staging.parent_keys == {dg.AssetKey(["pagila", "payment"])}
    mart = graph.get(dg.AssetKey(["marts", "sales_by_store"]))
    assert dg.AssetKey(["staging", "stg_payment"]) in mart.parent_keys
    assert staging.group_name == "staging" and mart.group_name == "marts"


def test_the_daily_schedule_is_off_and_reads_every_month() -> None:
    schedule = defs.resolve_schedule_def("pagila_daily")
    assert schedule.cron_schedule == "0 0 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    with dg.build_schedule_context() as context:
        request = schedules.pagila_daily(context)
    months = [m.isoformat() for m in generate.partitions()]
    assert request.tags == schedules.all_months_tags()
    assert sorted(request.tags.values()) == [months[0], months[-1]]
