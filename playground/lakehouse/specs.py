"""Schemas, partition specs and row filters: how the playground lays its Iceberg tables out.

Tables partitioned by month of one column (`<column>_month`), the filters that select months and
time windows in UTC, and the Arrow-to-Iceberg schema conversion. Used by `lakehouse.tables` and
by the extract's commit.
"""

from __future__ import annotations

import contextlib
import warnings
from datetime import datetime

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import And, GreaterThanOrEqual, IsNull, LessThan, Or
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import assign_fresh_schema_ids
from pyiceberg.transforms import MonthTransform

from playground.config.months import NULL_MONTH, month_bounds


def iceberg_schema(schema: pa.Schema):
    """The Iceberg schema PyIceberg creates for an Arrow schema, with field ids 1, 2, ... in order.

    A partition spec built on it refers to the same columns once create_table assigns its own ids
    (it maps the spec by column name). The conversion alone leaves every id at -1.
    """
    # PyIceberg's own Arrow-to-Iceberg conversion for create_table, which it keeps private; this
    # is the one call of it (tests/lakehouse/test_tables.py fails loudly if PyIceberg renames it)
    return assign_fresh_schema_ids(Catalog._convert_schema_if_needed(schema))


def partition_field_names(partition_column: str | None) -> list[str]:
    return [f"{partition_column}_month"] if partition_column else []


def partition_spec(schema, partition_column: str | None):
    """Monthly partitioning on a column `extract()` has already checked (or none)."""
    if not partition_column:
        return PartitionSpec()
    source_id = schema.find_field(partition_column).field_id
    (name,) = partition_field_names(partition_column)
    return PartitionSpec(PartitionField(source_id, 1000, MonthTransform(), name), spec_id=0)


def months_filter(column: str, months: list[str], kind: pa.DataType | None = None):
    """Rows of `column` in any of `months` (`YYYY-MM`, or NULL_MONTH for the null partition).

    `kind`: the column's Arrow type when it is not a timestamp with time zone (a date column
    compares with dates, a timestamp without time zone with UTC wall times).
    """
    clauses = []
    for month in months:
        if month == NULL_MONTH:
            clauses.append(IsNull(column))
            continue
        first, after = month_bounds(month)
        clauses.append(
            And(
                GreaterThanOrEqual(column, _month_bound(first, kind)),
                LessThan(column, _month_bound(after, kind)),
            )
        )
    return clauses[0] if len(clauses) == 1 else Or(*clauses)


def _month_bound(day, kind: pa.DataType | None) -> str:
    if kind is not None and pa.types.is_date(kind):
        return day.isoformat()
    if kind is not None and pa.types.is_timestamp(kind) and kind.tz is None:
        return f"{day}T00:00:00"
    return f"{day}T00:00:00+00:00"


def window_filter(column: str, start: datetime, end: datetime, with_zone: bool = True):
    """Rows with `start <= column < end` (a partition's time window), as a PyIceberg filter.

    `with_zone=False` for a timestamp column without time zone (the bounds lose theirs).
    """
    if not with_zone:
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    return And(GreaterThanOrEqual(column, start.isoformat()), LessThan(column, end.isoformat()))


def has_zone(schema: pa.Schema, column: str) -> bool:
    """Whether `column` holds instants (timestamp with time zone) rather than local times."""
    kind = schema.field(column).type
    return not pa.types.is_timestamp(kind) or kind.tz is not None


@contextlib.contextmanager
def quiet_empty_deletes():
    """A month (or window) written for the first time has nothing to delete; PyIceberg warns
    about it, which says nothing a learner can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        yield
