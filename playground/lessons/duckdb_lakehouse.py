"""Lesson 02's exercises, checked against PyIceberg's own reading of the tables and its file
planning (never DuckDB's answer to itself)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan

from playground import lakehouse
from playground.lessons.exercises import Exercise, run_answer, whole

STAFF_REVENUE = """select staff_id,
       strftime(date_trunc('month', payment_date), '%Y-%m') as month,
       sum(amount) as revenue
from payment
group by all
order by all"""
# A wrong answer of the right shape: the same pairs, the average payment instead of the sum.
AVERAGE_REVENUE = """select staff_id,
       strftime(date_trunc('month', payment_date), '%Y-%m') as month,
       avg(amount) as revenue
from payment
group by all
order by all"""


def _month(value) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m")
    return str(value)[:7]


def _staff_months(identifier: str) -> dict[tuple[int, str], Decimal]:
    """Revenue per (staff, UTC month) of the lakehouse table, summed by PyIceberg and Python:
    the same rows the learner's DuckDB query reads, through another reader."""
    rows = lakehouse.read(identifier).select(["staff_id", "payment_date", "amount"])
    sums: dict[tuple[int, str], Decimal] = {}
    for staff, when, amount in zip(*(rows.column(i).to_pylist() for i in range(3)), strict=True):
        key = (int(staff), f"{when.astimezone(UTC):%Y-%m}")
        sums[key] = sums.get(key, Decimal(0)) + amount
    return sums


def check_staff_revenue(query: str, con, source) -> str | None:
    """The query (over the lesson's views) must give each staff member's revenue by UTC month,
    as PyIceberg's reading of the same table sums it."""
    rows = run_answer(lambda: con.sql(query).fetchall())
    if rows and len(rows[0]) != 3:
        return f"three columns expected (staff, month, revenue); your query returns {len(rows[0])}"
    oracle = _staff_months(f"{source.namespace}.payment")
    try:
        got = {(int(staff), _month(month)): Decimal(str(revenue)) for staff, month, revenue in rows}
    except (TypeError, ValueError, ArithmeticError):
        return "each row should be (staff_id, month, revenue): a number, a month, a number"
    if not all(revenue.is_finite() for revenue in got.values()):
        return "a revenue is NaN or infinite: sum the amounts"
    if len(got) != len(oracle):
        return f"{len(oracle)} (staff, month) pairs expected, your query returns {len(got)} rows"
    for key, revenue in sorted(oracle.items()):
        if key not in got:
            return f"staff {key[0]} in {key[1]} is missing (group by staff and by month)"
        if got[key] != revenue:
            return f"staff {key[0]} in {key[1]}: yours {got[key]}, the table's {revenue}"
    return None


def check_files_read(answer: float, source) -> str | None:
    """How many data files of `payment` a query on 2022-02 reads: PyIceberg plans the scan."""
    table = lakehouse.catalog().load_table(f"{source.namespace}.payment")
    february = And(
        GreaterThanOrEqual("payment_date", "2022-02-01T00:00:00+00:00"),
        LessThan("payment_date", "2022-03-01T00:00:00+00:00"),
    )
    planned = len(list(table.scan(row_filter=february).plan_files()))
    every = len(list(table.scan().plan_files()))
    if not whole(answer):
        return f"{answer!r} is not a number of files: a whole number, such as {every}"
    if int(answer) == planned:
        return None
    if int(answer) == every:
        return f"{every} is every data file of payment: a one-month filter prunes the others"
    return f"you said {int(answer)}; count the files EXPLAIN ANALYZE says the scan read"


STAFF = Exercise(
    "02.1", "Revenue of each staff member by month", check_staff_revenue, STAFF_REVENUE,
    AVERAGE_REVENUE,
    "Run it on every path with `connections[path].sql(...)`: the three agree, and they agree "
    "with the check, which reads the same table through PyIceberg and sums it by UTC month in "
    "Python.",
)  # fmt: skip
FILES = Exercise(
    "02.2", "Files a February query reads through Iceberg", check_files_read, 1, 7,
    "One: each month is its own partition, so whatever the month, the manifests point at "
    "exactly that month's file.",
)  # fmt: skip
EXERCISES = (STAFF, FILES)
