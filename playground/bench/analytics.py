"""DuckDB as the lakehouse's query engine: five pagila reports, three ways to reach the same rows.

The same SQL runs over one DuckDB connection per *path*, each exposing pagila's tables as views of
the same names:

- `iceberg`: `iceberg_scan` of each table's current metadata (`lakehouse.register_duckdb_view`);
  DuckDB reads the manifests and skips data files the filter rules out.
- `parquet`: `read_parquet` over the data files of each table's current snapshot, listed by
  PyIceberg (never a folder glob, which would also read deleted and replaced files).
- `postgres`: the source tables in PostgreSQL, through DuckDB's postgres extension.

Lesson 02 and `playground bench duckdb` use it. No Dagster here.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass

import duckdb

from playground import extract, lakehouse
from playground.config.settings import Settings, get_settings
from playground.datasets.pagila import keys, seed
from playground.engines import duck
from playground.services import postgres

# The tables the five queries read.
TABLES = ("payment", "rental", "inventory", "film", "film_category", "category", "customer")
PATHS = ("iceberg", "parquet", "postgres")

QUERIES = {
    "revenue_by_month": """
        select date_trunc('month', payment_date) as month, count(*) as payments,
               sum(amount) as revenue
        from payment group by 1 order by 1""",
    "top_films_by_category": """
        with film_revenue as (
            select c.name as category, f.film_id, f.title, sum(p.amount) as revenue
            from payment p
            join rental r on r.rental_id = p.rental_id
            join inventory i on i.inventory_id = r.inventory_id
            join film f on f.film_id = i.film_id
            join film_category fc on fc.film_id = f.film_id
            join category c on c.category_id = fc.category_id
            group by c.name, f.film_id, f.title
        ),
        ranked as (
            select *, row_number() over (partition by category order by revenue desc, film_id)
                as rank
            from film_revenue
        )
        select category, rank, title, revenue from ranked where rank <= 3
        order by category, rank""",
    "customer_lifetime_value": """
        select c.customer_id, c.first_name || ' ' || c.last_name as customer,
               count(*) as payments, sum(p.amount) as lifetime_value
        from payment p join customer c on c.customer_id = p.customer_id
        group by c.customer_id, c.first_name, c.last_name
        order by lifetime_value desc, c.customer_id limit 10""",
    "late_returns_by_store": """
        select i.store_id, count(*) as rentals,
               count(*) filter (where r.return_date > r.rental_date
                                    + to_days(f.rental_duration)) as late
        from rental r
        join inventory i on i.inventory_id = r.inventory_id
        join film f on f.film_id = i.film_id
        group by i.store_id order by late desc, i.store_id limit 10""",
    "moving_average": """
        with daily as (
            select cast(payment_date as date) as day, sum(amount) as revenue
            from payment group by 1
        )
        select day, revenue,
               avg(revenue) over (order by day rows between 6 preceding and current row)
                   as revenue_7_day_average,
               sum(revenue) over (order by day) as running_total
        from daily order by day""",
}


@dataclass(frozen=True)
class Source:
    """Where one scale of pagila lives: its PostgreSQL database and its lakehouse namespace."""

    scale: float
    database: str
    namespace: str


def source_for(scale: float, settings: Settings | None = None) -> Source:
    """SF 1 is the pipeline's own (`pagila` database and namespace); other scales get their own."""
    settings = settings or get_settings()
    if scale == 1:
        return Source(1, settings.pagila_db, "pagila")
    name = f"pagila_sf{scale:g}".replace(".", "_")
    return Source(scale, name, name)


def prepare(scale: float, settings: Settings | None = None, progress=print) -> Source:
    """Make sure the scale's tables exist in PostgreSQL and in the lakehouse; returns the source.

    SF 1 reads what the pagila pipeline wrote (and extracts a table it has not written yet; the
    `pagila` database is seeded at SF 1 if it is missing, as `make run` does). Another scale is
    seeded into its own database once, then extracted into its own namespace.
    """
    settings = settings or get_settings()
    source = source_for(scale, settings)
    target = "stack" if settings.is_stack else "embedded"

    def quiet_if_there(line: str) -> None:
        if not line.endswith("left as it is"):
            progress(line)

    seed.seed(scale=scale, target=target, database=source.database, if_missing=True,
              progress=quiet_if_there)  # fmt: skip
    cat = lakehouse.catalog(settings)
    cat.create_namespace_if_not_exists(source.namespace)
    for table in TABLES:
        if cat.table_exists(f"{source.namespace}.{table}"):
            continue
        column = keys.PARTITION_COLUMNS.get(table)
        extract.extract(
            f"{source.namespace}.{table}",
            table=table,
            source=postgres.url(source.database, settings),
            partition_by=f"{column}:month" if column else None,
            settings=settings,
            progress=lambda _line: None,
            cat=cat,
        )
        progress(f"extracted {table} into {source.namespace}.{table}")
    return source


def data_files(identifier: str, settings: Settings | None = None, cat=None) -> list[str]:
    """The data files of the table's current snapshot (what a correct raw read must use)."""
    table = (cat or lakehouse.catalog(settings)).load_table(identifier)
    return [task.file.file_path.removeprefix("file://") for task in table.scan().plan_files()]


def connect(
    path: str, source: Source, settings: Settings | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose views `payment`, `rental`, ... read the tables through `path`."""
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; choose one of {', '.join(PATHS)}.")
    settings = settings or get_settings()
    con = duck.connect(settings=settings)
    con.execute("set TimeZone = 'UTC'")  # months and days are counted in UTC on every path
    if path == "postgres":
        dsn = postgres.libpq_dsn(source.database, settings)
        duck.attach_postgres(con, dsn, "source", settings)
        for table in TABLES:
            con.execute(f'CREATE VIEW "{table}" AS FROM source.public."{table}"')  # noqa: S608
        return con
    cat = lakehouse.catalog(settings)
    for table in TABLES:
        identifier = f"{source.namespace}.{table}"
        if path == "iceberg":
            lakehouse.register_duckdb_view(con, identifier, view=table, cat=cat)
            continue
        files = ", ".join(duck.literal(f) for f in data_files(identifier, cat=cat))
        con.execute(
            f'CREATE VIEW "{table}" AS SELECT * FROM '  # noqa: S608 - fixed names, quoted paths
            f"read_parquet([{files}], hive_partitioning = false)"
        )
    return con


def time_queries(con: duckdb.DuckDBPyConnection, path: str, repeat: int = 3) -> list[dict]:
    """Each query `repeat` times on `con`; the median seconds and the rows it returned."""
    timings = []
    for name, sql in QUERIES.items():
        seconds = []
        for _ in range(repeat):
            started = time.perf_counter()
            rows = len(con.execute(sql).fetchall())
            seconds.append(time.perf_counter() - started)
        timings.append(
            {"query": name, "path": path, "seconds": statistics.median(seconds), "rows": rows}
        )
    return timings


def month_query(month: str) -> str:
    """Revenue of one month (`YYYY-MM`), a filter on the partition column."""
    start = f"{month}-01"
    if len(month) != 7 or not start.replace("-", "").isdigit():
        raise ValueError(f"{month!r} is not a month (YYYY-MM).")
    return (
        "select count(*) as payments, sum(amount) as revenue from payment "  # noqa: S608 - checked
        f"where payment_date >= timestamptz '{start}' "
        f"and payment_date < timestamptz '{start}' + interval 1 month"
    )


def scans(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    """The table scans of DuckDB's profile of `sql` (`EXPLAIN ANALYZE`, JSON form): each scan's
    function, filters, files read and their names."""
    plan = json.loads(con.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql).fetchall()[0][1])
    found, nodes = [], [plan]
    while nodes:
        node = nodes.pop()
        info = node.get("extra_info", {})
        if "Total Files Read" in info:
            found.append(info)
        nodes.extend(node.get("children", []))
    return found


def files_read(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """Data files the query opened, summed over its scans."""
    return sum(int(scan["Total Files Read"]) for scan in scans(con, sql))
