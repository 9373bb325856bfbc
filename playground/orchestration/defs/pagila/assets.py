"""pagila's 15 tables, each streamed from PostgreSQL into the Iceberg table `pagila.<table>`.

Every asset calls the extract API (`playground extract`, DuckDB method) in the run's one process:
imports and the catalog are paid once per run, not once per table. `rental` and `payment` are
partitioned by month; materializing a month (or a range of months, in one run) reads only those
months from PostgreSQL and replaces exactly them in one Iceberg commit, so readers see the old
month or the new one, never a mix. The other tables are replaced whole, also in one commit.
"""

import dagster as dg

from playground import extract
from playground.config.months import months_between, next_month, utc_literal
from playground.datasets.pagila import generate, keys
from playground.lakehouse.tables import register_duckdb_view
from playground.orchestration.resources import LakehouseResource, PostgresResource

NAMESPACE = "pagila"
PARTITION_COLUMNS = keys.PARTITION_COLUMNS
ROW_COUNT_CHECK = "row_count_matches_source"
_MONTHS = generate.partitions()
# The months the generator fills (payments run past the rentals by the longest return).
monthly = dg.MonthlyPartitionsDefinition(
    start_date=_MONTHS[0].isoformat(), end_date=next_month(_MONTHS[-1]).isoformat()
)


def source_slice(table: str, context: dg.AssetExecutionContext) -> tuple[str, list[str] | None]:
    """The SQL reading this run's rows of `table`, and the months it replaces (None: all).

    A run over every month reads the whole table, so rows dated outside the pipeline's months
    land in the lakehouse too (in partitions of their own months).
    """
    quoted = f'public."{table}"'
    column = PARTITION_COLUMNS.get(table)
    if column is None or not (context.has_partition_key or context.has_partition_key_range):
        return f"select * from {quoted}", None  # noqa: S608 - a fixed table name, quoted
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    if start <= _MONTHS[0] and end >= next_month(_MONTHS[-1]):
        return f"select * from {quoted}", None  # noqa: S608 - every month: the whole table
    # Dagster's time window gives dates, formatted as UTC instants (never taken from user text):
    # a bare '2022-06-01' would be read in the session's time zone (see playground.config.months).
    where = f'"{column}" >= {utc_literal(start)} and "{column}" < {utc_literal(end)}'
    return f"select * from {quoted} where {where}", months_between(start, end)  # noqa: S608


def totals_query(table: str, relation: str) -> str:
    """Rows and the sum of the integer key columns (`*_id`) of `relation` (a copy of `table`)."""
    ids = [c for c in keys.primary_keys()[table] if c.endswith("_id")]
    summed = " + ".join(f'coalesce(sum("{c}"), 0)' for c in ids) or "0"
    return f"select count(*), {summed} from {relation}"  # noqa: S608 - names from constraints.sql


def _source_totals(postgres: PostgresResource, table: str) -> tuple[int, int]:
    with postgres.connect() as conn:
        return tuple(conn.execute(totals_query(table, f'public."{table}"')).fetchone())


def _months_apart(postgres, lakehouse, table: str, view: str) -> str:
    """The months whose row counts differ between PostgreSQL and the lakehouse, for the check."""
    column = PARTITION_COLUMNS.get(table)
    if column is None:
        return ""
    with postgres.connect() as conn:
        source = dict(conn.execute(
            f"select to_char(\"{column}\" at time zone 'UTC', 'YYYY-MM'), count(*) "  # noqa: S608
            f'from public."{table}" group by 1'
        ).fetchall())  # fmt: skip
    stored = dict(lakehouse.duckdb().execute(
        f"select strftime(\"{column}\", '%Y-%m'), count(*) from \"{view}\" group by 1"  # noqa: S608
    ).fetchall())  # fmt: skip
    apart = [
        f"{m or 'no date'} (PostgreSQL {source.get(m, 0):,}, lakehouse {stored.get(m, 0):,})"
        for m in sorted(set(source) | set(stored), key=str)
        if source.get(m, 0) != stored.get(m, 0)
    ]
    return "; months that differ: " + ", ".join(apart) if apart else ""


def _table_asset(table: str) -> dg.AssetsDefinition:
    column = PARTITION_COLUMNS.get(table)
    identifier = f"{NAMESPACE}.{table}"

    @dg.asset(
        name=table,
        key_prefix=NAMESPACE,
        group_name=NAMESPACE,
        kinds={"postgres", "iceberg"},
        partitions_def=monthly if column else None,
        # A backfill of many months runs as one run: one read, one commit.
        backfill_policy=dg.BackfillPolicy.single_run() if column else None,
        check_specs=[dg.AssetCheckSpec(ROW_COUNT_CHECK, asset=dg.AssetKey([NAMESPACE, table]))],
        description=(
            f"pagila's `{table}` table from PostgreSQL, as the Iceberg table `{identifier}`"
            + (f", partitioned by month of `{column}`." if column else ".")
        ),
        metadata={"table": identifier, "primary_key": ", ".join(keys.primary_keys()[table])},
    )
    def _asset(
        context: dg.AssetExecutionContext, postgres: PostgresResource, lakehouse: LakehouseResource
    ) -> dg.MaterializeResult:
        sql, months = source_slice(table, context)
        before = _source_totals(postgres, table)
        try:
            result = extract.extract(
                identifier,
                query=sql,
                source=postgres.url(),
                partition_by=f"{column}:month" if column else None,
                mode="overwrite-partitions" if months is not None else "replace",
                months=months,
                cat=lakehouse.catalog(),
                progress=context.log.info,
            )
        except extract.ExtractError as exc:
            raise dg.Failure(f"{identifier}: {exc}") from None
        after = _source_totals(postgres, table)
        view = lakehouse_view(lakehouse, identifier, result.snapshot_id)
        stored = tuple(lakehouse.duckdb().execute(totals_query(table, f'"{view}"')).fetchone())
        apart = "" if stored == after else _months_apart(postgres, lakehouse, table, view)
        check = row_count_check(before, after, stored, apart)
        return materialize_result(identifier, result, check, months)

    return _asset


def lakehouse_view(lakehouse: LakehouseResource, identifier: str, snapshot_id) -> str:
    """A DuckDB view of `identifier` at the snapshot this run committed."""
    view = f"{identifier.split('.')[-1]}_committed"
    con = lakehouse.duckdb()
    register_duckdb_view(con, identifier, view, snapshot_id=snapshot_id, cat=lakehouse.catalog())
    return view


def row_count_check(
    before: tuple, after: tuple, stored: tuple, detail: str = ""
) -> dg.AssetCheckResult:
    """The whole lakehouse table against the whole source table: rows and key sums.

    `before` and `after` are the source's totals around the read: when they differ, PostgreSQL
    changed meanwhile and the comparison says nothing (the check fails saying so).
    """
    metadata = {"postgres_rows": after[0], "lakehouse_rows": stored[0],
                "postgres_key_sum": str(after[1]), "lakehouse_key_sum": str(stored[1])}  # fmt: skip
    if before != after:
        description = (
            f"PostgreSQL changed while the table was read ({before[0]:,} rows before, "
            f"{after[0]:,} after): materialize it again."
        )
        return dg.AssetCheckResult(check_name=ROW_COUNT_CHECK, passed=False,
                                   metadata=metadata, description=description)  # fmt: skip
    passed = tuple(stored) == tuple(after)
    description = (
        "The lakehouse table holds the rows PostgreSQL holds (count and primary-key sum)."
        if passed
        else f"The lakehouse table holds {stored[0]:,} rows (key sum {stored[1]}), PostgreSQL "
        f"{after[0]:,} (key sum {after[1]}){detail}."
    )
    return dg.AssetCheckResult(
        check_name=ROW_COUNT_CHECK, passed=passed, metadata=metadata, description=description
    )


def materialize_result(
    identifier: str, result: extract.Result, check: dg.AssetCheckResult, months: list[str] | None
) -> dg.MaterializeResult:
    """Output metadata and the row-count check of one extraction."""
    metadata = {
        "dagster/row_count": result.rows,
        "dagster/table_name": identifier,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(f.name, str(f.type)) for f in result.schema]
        ),
        "snapshot_id": str(result.snapshot_id),
        "seconds": round(result.seconds, 3),
        "rows_per_second": round(result.rows_per_second),
    }
    if months is not None:
        metadata["months_replaced"] = ", ".join(months)
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


@dg.definitions
def tables() -> dg.Definitions:
    return dg.Definitions(assets=[_table_asset(table) for table in keys.TABLES])
