"""pagila's 15 tables, each streamed from PostgreSQL into the Iceberg table `pagila.<table>`.

Every asset calls the extract API (`playground extract`, DuckDB method) in the run's one process:
imports and the catalog are paid once per run, not once per table. `rental` and `payment` are
partitioned by month; materializing a month (or a range of months, in one run) reads only those
months from PostgreSQL and replaces exactly them in one Iceberg commit, so readers see the old
month or the new one, never a mix. The other tables are replaced whole, also in one commit.
"""

import dagster as dg

from playground import extract
from playground._months import months_between, next_month, utc_literal
from playground.pagila import generate, keys
from playground.resources import LakehouseResource, PostgresResource

NAMESPACE = "pagila"
PARTITION_COLUMNS = keys.PARTITION_COLUMNS
ROW_COUNT_CHECK = "row_count_matches_source"
_MONTHS = generate.partitions()
# The months the generator fills (payments run past the rentals by the longest return).
monthly = dg.MonthlyPartitionsDefinition(
    start_date=_MONTHS[0].isoformat(), end_date=next_month(_MONTHS[-1]).isoformat()
)


def source_slice(table: str, context: dg.AssetExecutionContext) -> tuple[str, list[str] | None]:
    """The SQL reading this run's rows of `table`, and the months it replaces (None: all)."""
    quoted = f'public."{table}"'
    column = PARTITION_COLUMNS.get(table)
    if column is None or not (context.has_partition_key or context.has_partition_key_range):
        return f"select * from {quoted}", None  # noqa: S608 - a fixed table name, quoted
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    # Dagster's time window gives dates, formatted as UTC instants (never taken from user text):
    # a bare '2022-06-01' would be read in the session's time zone (see playground._months).
    where = f'"{column}" >= {utc_literal(start)} and "{column}" < {utc_literal(end)}'
    return f"select * from {quoted} where {where}", months_between(start, end)  # noqa: S608


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
        with postgres.connect() as conn:
            source_rows = conn.execute(f"select count(*) from ({sql}) s").fetchone()[0]  # noqa: S608
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
        return materialize_result(identifier, result, source_rows, months)

    return _asset


def materialize_result(
    identifier: str, result: extract.Result, source_rows: int, months: list[str] | None
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
    check = dg.AssetCheckResult(
        check_name=ROW_COUNT_CHECK,
        passed=result.rows == source_rows,
        metadata={"lakehouse_rows": result.rows, "postgres_rows": source_rows},
        description="Rows committed equal the rows PostgreSQL held when the extraction started.",
    )
    return dg.MaterializeResult(metadata=metadata, check_results=[check])


@dg.definitions
def tables() -> dg.Definitions:
    return dg.Definitions(assets=[_table_asset(table) for table in keys.TABLES])
