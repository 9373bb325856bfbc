"""Checks on the lakehouse copies of pagila, run by DuckDB over the Iceberg tables.

- `primary_key`: the table's key columns are never null and never repeat.
- `foreign_keys`: every non-null reference finds its row in the referenced lakehouse table (all
  rows, not a sample: DuckDB reads the key columns only).
- freshness of the partitioned tables: materialized within the last day (the schedule's cadence).
The row-count check (rows committed = rows PostgreSQL held) is reported by each asset itself.
"""

from datetime import timedelta

import dagster as dg

from playground.datasets.pagila import keys
from playground.orchestration.defs.pagila.assets import NAMESPACE, PARTITION_COLUMNS
from playground.orchestration.resources import LakehouseResource


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey([NAMESPACE, table])


def primary_key_query(table: str) -> str:
    columns = keys.primary_keys()[table]
    nulls = " or ".join(f'"{c}" is null' for c in columns)
    listed = ", ".join(f'"{c}"' for c in columns)
    # names come from constraints.sql, quoted; the view is named after the table
    return (
        f"select count(*) filter (where {nulls}) as null_keys, "  # noqa: S608
        f"count(*) - count(distinct ({listed})) as duplicate_keys, count(*) as row_count "
        f'from "{table}"'
    )


def orphans_query(fk: keys.ForeignKey) -> str:
    """Rows of `fk.table` whose non-null reference finds no row in `fk.parent`."""
    return (
        f'select count(*) from "{fk.table}" c '  # noqa: S608 - names from constraints.sql
        f'where c."{fk.column}" is not null and not exists '
        f'(select 1 from "{fk.parent}" p where p."{fk.parent_column}" = c."{fk.column}")'
    )


def _primary_key_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=_key(table),
        name="primary_key",
        description=f"({', '.join(keys.primary_keys()[table])}) is unique and never null.",
    )
    def _check(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
        con = lakehouse.duckdb(f"{NAMESPACE}.{table}")
        null_keys, duplicates, rows = con.execute(primary_key_query(table)).fetchone()
        return dg.AssetCheckResult(
            passed=null_keys == 0 and duplicates == 0,
            metadata={"null_keys": null_keys, "duplicate_keys": duplicates, "rows": rows},
        )

    return _check


def _foreign_key_check(table: str) -> dg.AssetChecksDefinition:
    foreign = keys.foreign_keys()[table]
    parents = sorted({fk.parent for fk in foreign} - {table})

    @dg.asset_check(
        asset=_key(table),
        name="foreign_keys",
        # run after the tables it looks into, when they are in the same run
        additional_deps=[_key(parent) for parent in parents],
        description="Every reference resolves: "
        + ", ".join(f"{fk.column} → {fk.parent}.{fk.parent_column}" for fk in foreign),
    )
    def _check(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
        con = lakehouse.duckdb(*(f"{NAMESPACE}.{t}" for t in [table, *parents]))
        orphans = {
            f"{fk.column} → {fk.parent}": con.execute(orphans_query(fk)).fetchone()[0]
            for fk in foreign
        }
        return dg.AssetCheckResult(
            passed=not any(orphans.values()),
            metadata={"orphan_rows": dg.MetadataValue.json(orphans)},
        )

    return _check


@dg.definitions
def checks() -> dg.Definitions:
    found = [_primary_key_check(table) for table in keys.TABLES]
    found += [_foreign_key_check(t) for t in keys.TABLES if keys.foreign_keys()[t]]
    found += dg.build_last_update_freshness_checks(
        assets=[_key(table) for table in PARTITION_COLUMNS], lower_bound_delta=timedelta(days=1)
    )
    return dg.Definitions(asset_checks=found)
