"""The time rule: months are UTC whatever the zone of the machine, the server or the database.

Each zone gets a data directory of its own whose embedded PostgreSQL is initialised in that zone
(`initdb` takes the server's timezone from TZ), a database-level `timezone` different again, and a
child process in that zone that runs the pipeline's two partitioned tables: every month at once
(a learner's first materialization), then one month. The oracle is PostgreSQL's own count per UTC
month (`at time zone 'UTC'`, which no session setting changes).
"""

from __future__ import annotations

import json

import pytest

from playground.datasets.pagila import seed
from playground.services import postgres
from tests.helpers import BIN, run

pytestmark = pytest.mark.slow

# a negative offset, an odd positive one (+05:45) and the furthest ahead (+14)
ZONES = ["America/Los_Angeles", "Asia/Kathmandu", "Pacific/Kiritimati"]
DATABASE_ZONE = "America/New_York"

CHILD = """
import json, sys
import dagster as dg
from playground import lakehouse
from playground.orchestration import pipeline
from playground.orchestration.defs.pagila.schedules import all_months_tags
from playground.orchestration.definitions import defs

# the two partitioned assets as the pipeline runs them, without the checks on other tables
assets = [defs.resolve_assets_def(dg.AssetKey(["pagila", t])) for t in ("payment", "rental")]
partition = sys.argv[1] or None
with dg.DagsterInstance.ephemeral() as instance:
    result = dg.materialize(
        assets, instance=instance, partition_key=partition,
        tags={} if partition else all_months_tags())
    stages = pipeline.collect_stages(instance, result)
assert result.success, stages
failed = [e.description for e in result.get_asset_check_evaluations() if not e.passed]
months = {}
for table in ("payment", "rental"):
    counts = months.setdefault(table, {})
    for task in lakehouse.catalog().load_table(f"pagila.{table}").scan().plan_files():
        value = task.file.partition[0]  # Iceberg's month(): months since 1970-01, in UTC
        month = f"{1970 + value // 12}-{value % 12 + 1:02d}"
        counts[month] = counts.get(month, 0) + task.file.record_count
print("RESULT " + json.dumps({"rows": stages.rows, "months": months, "failed": failed}))
"""


def _in_zone(zone: str, partition: str = "") -> dict:
    done = run([str(BIN / "python"), "-c", CHILD, partition], env={"TZ": zone}, timeout=240)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("RESULT "))


def _utc_months(table: str, column: str) -> dict[str, int]:
    with postgres.connect("pagila") as conn:
        rows = conn.execute(
            f"select to_char({column} at time zone 'UTC', 'YYYY-MM'), count(*) "  # noqa: S608
            f"from {table} group by 1"
        ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("zone", ZONES)
def test_months_are_utc_in_every_zone(zone: str, fresh_data_dir) -> None:
    """The seed and a first materialization; in the first zone also a one-month run."""
    seeded = run([str(BIN / "playground"), "seed", "--scale", "0.05"], env={"TZ": zone})
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    seed.seed(0.05, database="pagila_here", progress=lambda _line: None)  # in the suite's zone
    instants = "select sum(extract(epoch from payment_date)), count(*) from payment"  # noqa: S608
    with postgres.connect("pagila_here") as conn:
        here = conn.execute(instants).fetchone()
    with postgres.connect("pagila") as conn:
        assert conn.execute("show timezone").fetchone()[0] == zone  # initialised in the zone
        assert conn.execute(instants).fetchone() == here  # the seed made the same instants
        conn.execute(f"alter database pagila set timezone = '{DATABASE_ZONE}'")
    with postgres.connect("pagila") as conn:
        assert conn.execute("show timezone").fetchone()[0] == DATABASE_ZONE

    first = _in_zone(zone)  # every month, as the first start does
    assert first["failed"] == []
    payment, rental = _utc_months("payment", "payment_date"), _utc_months("rental", "rental_date")
    assert first["months"] == {"payment": payment, "rental": rental}
    assert first["rows"] == {"payment": sum(payment.values()), "rental": sum(rental.values())}

    if zone != ZONES[0]:
        return  # the month slice's literals are the same code in every zone: one is enough
    with postgres.connect("pagila") as conn:  # a row on the last evening of May, UTC: May, not June
        conn.execute(
            "update payment set payment_date = '2022-05-31 23:30:00+00' where payment_id = "
            "(select min(payment_id) from payment where payment_date >= '2022-06-01 00:00+00')"
        )
    june = _in_zone(zone, "2022-06-01")
    after = _utc_months("payment", "payment_date")
    assert june["rows"]["payment"] == after["2022-06"]
    assert june["months"]["payment"]["2022-06"] == after["2022-06"]
    # May was not rewritten: it still holds its old rows, and the moved row left June; the
    # row-count check compares the whole table, so it fails and names May
    assert june["months"]["payment"]["2022-05"] == payment["2022-05"] == after["2022-05"] - 1
    may = f"2022-05 (PostgreSQL {after['2022-05']}, lakehouse {payment['2022-05']})"
    assert len(june["failed"]) == 1 and june["failed"][0].endswith(f"months that differ: {may}.")
