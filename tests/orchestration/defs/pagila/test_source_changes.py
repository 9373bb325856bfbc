"""Nothing silently wrong when the source changes: rows outside the pipeline's months, renamed and
dropped columns. Each test runs the pagila assets for real in a data directory of its own (its
own PostgreSQL, catalog and Dagster instance), so the suite's shared tables are not touched."""

from __future__ import annotations

import dagster as dg
import pytest

from playground import lakehouse
from playground.datasets.pagila import seed
from playground.orchestration.definitions import defs
from playground.orchestration.defs.pagila.assets import ROW_COUNT_CHECK
from playground.orchestration.defs.pagila.schedules import all_months_tags
from playground.services import postgres

pytestmark = pytest.mark.slow


@pytest.fixture
def pagila(fresh_data_dir):
    seed.seed(0.05, 7, progress=lambda _line: None)
    return fresh_data_dir


def _materialize(*tables: str, partition: str | None = None):
    """The tables' assets (with their own row-count check) as the pipeline runs them."""
    assets = [defs.resolve_assets_def(dg.AssetKey(["pagila", t])) for t in tables]
    tags = {} if partition or not any(a.partitions_def for a in assets) else all_months_tags()
    with dg.DagsterInstance.ephemeral() as instance:
        return dg.materialize(assets, instance=instance, partition_key=partition, tags=tags,
                              raise_on_error=False)  # fmt: skip


def _check(result, table: str) -> dg.AssetCheckEvaluation:
    (found,) = [e for e in result.get_asset_check_evaluations()
                if e.asset_key.path[-1] == table and e.check_name == ROW_COUNT_CHECK]  # fmt: skip
    return found


def _pg(sql: str, *params):
    with postgres.connect("pagila") as conn:
        return conn.execute(sql, params).fetchall()


def _add_october_payment() -> None:
    with postgres.connect("pagila") as conn:
        conn.execute("create table payment_p2022_10 partition of payment for values from "
                     "('2022-10-01 00:00+00') to ('2022-11-01 00:00+00')")  # fmt: skip
        conn.execute(
            "insert into payment (payment_id, customer_id, staff_id, rental_id, amount, "
            "payment_date) select max(payment_id) + 1, 1, 1, 1, 9.99, '2022-10-15 12:00+00' "
            "from payment"
        )


def test_rows_outside_the_months_land_in_a_full_run(pagila) -> None:
    _add_october_payment()
    result = _materialize("payment")
    assert result.success and _check(result, "payment").passed
    rows = lakehouse.read("pagila.payment")
    assert rows.num_rows == _pg("select count(*) from payment")[0][0]
    assert 9.99 in [float(a) for a in rows.column("amount").to_pylist()]


def test_a_month_run_fails_naming_months_never_loaded(pagila) -> None:
    assert _materialize("payment").success
    _add_october_payment()
    result = _materialize("payment", partition="2022-06-01")
    check = _check(result, "payment")
    assert not check.passed
    assert "2022-10 (PostgreSQL 1, lakehouse 0)" in check.description
    assert check.metadata["postgres_rows"].value == check.metadata["lakehouse_rows"].value + 1


def test_a_renamed_column_is_followed_never_left_null(pagila) -> None:
    assert _materialize("customer").success
    with postgres.connect("pagila") as conn:
        conn.execute("alter table customer rename column last_name to family_name")
    result = _materialize("customer")
    assert result.success and _check(result, "customer").passed
    stored = lakehouse.read("pagila.customer")
    assert "last_name" not in stored.column_names
    families = sorted(stored.column("family_name").to_pylist())
    assert families == sorted(r[0] for r in _pg("select family_name from customer"))
    assert None not in families


def test_a_dropped_column_in_a_month_run_fails_naming_it(pagila) -> None:
    assert _materialize("payment").success
    with postgres.connect("pagila") as conn:
        conn.execute("alter table payment drop column staff_id")
    result = _materialize("payment", partition="2022-06-01")
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.event_specific_data.error.message
    assert "no longer has column(s) staff_id" in message and "Nothing was committed" in message
    assert "staff_id" in lakehouse.read("pagila.payment").column_names  # unchanged
