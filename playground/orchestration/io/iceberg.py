"""Dagster IO managers that store asset outputs as Iceberg tables in the playground catalog."""

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field
from pyiceberg.expressions import AlwaysTrue

from playground import lakehouse
from playground.config.settings import get_settings
from playground.orchestration.io._arrow import as_requested, to_arrow

PARTITION_EXPR = "partition_expr"


class ArrowIcebergIOManager(dg.ConfigurableIOManager):
    """Stores an Arrow table (or pandas DataFrame) as the Iceberg table `<key prefix>.<asset name>`.

    An unpartitioned asset replaces the table's rows in one snapshot. A time-partitioned asset
    names its timestamp column in the `partition_expr` metadata (as with dagster-duckdb); each
    partition then replaces only the rows of its time window, deleted and written in one commit,
    and an input loads only the upstream partitions it asks for. A failed write leaves the
    previous snapshot current. Inputs load as Arrow, or as pandas when the parameter is annotated
    `pd.DataFrame`. The catalog comes from the playground settings when the resource is used.
    """

    default_namespace: str = Field(
        default="public", description="Namespace for asset keys without a prefix."
    )

    @staticmethod
    def _identifier(key: dg.AssetKey, default_namespace: str) -> str:
        path = key.path
        namespace = path[-2] if len(path) > 1 else default_namespace
        return f"{namespace}.{path[-1]}"

    @staticmethod
    def _partition_column(context: dg.OutputContext | dg.InputContext) -> str:
        metadata = context.definition_metadata or {}
        if isinstance(context, dg.InputContext) and context.upstream_output is not None:
            metadata = context.upstream_output.definition_metadata or {}
        column = metadata.get(PARTITION_EXPR)
        if not column:
            raise dg.Failure(
                f"{context.asset_key.to_user_string()} is partitioned: name its timestamp column "
                f"in the asset's metadata, e.g. metadata={{'{PARTITION_EXPR}': 'payment_date'}}."
            )
        return column

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | pd.DataFrame) -> None:
        obj = to_arrow(obj, context, "Iceberg")
        identifier = self._identifier(context.asset_key, self.default_namespace)
        cat = lakehouse.catalog(get_settings())
        metadata = {"table": identifier}
        if context.has_asset_partitions:
            column = self._partition_column(context)
            window = context.asset_partitions_time_window
            _check_inside(obj, column, window.start, window.end, context)
            table = lakehouse.write_window(identifier, obj, column, window.start, window.end, cat)
            metadata["window"] = f"{window.start.isoformat()} – {window.end.isoformat()}"
        else:
            table = lakehouse.write_table(identifier, obj, cat=cat)
        snapshot = table.current_snapshot()
        context.add_output_metadata(
            {
                **metadata,
                "dagster/row_count": obj.num_rows,
                "snapshot_id": str(snapshot.snapshot_id) if snapshot else "",
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(f.name, str(f.type)) for f in obj.schema]
                ),
                "preview": dg.MetadataValue.md(obj.slice(0, 5).to_pandas().to_markdown()),
            }
        )

    def load_input(self, context: dg.InputContext) -> pa.Table | pd.DataFrame:
        identifier = self._identifier(context.asset_key, self.default_namespace)
        stored = lakehouse.catalog(get_settings()).load_table(identifier)
        where = AlwaysTrue()
        if context.has_asset_partitions:
            column = self._partition_column(context)
            window = context.asset_partitions_time_window
            zone = lakehouse.has_zone(stored.schema().as_arrow(), column)
            where = lakehouse.window_filter(column, window.start, window.end, zone)
        return as_requested(stored.scan(row_filter=where).to_arrow(), context)


def _check_inside(data: pa.Table, column: str, start, end, context) -> None:
    """Refuse rows outside the partition's window: the next partition's write would drop them."""
    if column not in data.column_names:
        raise dg.Failure(f"{context.asset_key.to_user_string()} has no column {column!r}.")
    values = data.column(column)
    if pa.types.is_timestamp(values.type) and values.type.tz is None:
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    scalar = pa.scalar(start, values.type), pa.scalar(end, values.type)
    inside = pc.and_(pc.greater_equal(values, scalar[0]), pc.less(values, scalar[1]))
    outside = data.num_rows - pc.sum(pc.cast(pc.fill_null(inside, False), pa.int64())).as_py()
    if data.num_rows and outside:
        raise dg.Failure(
            f"{context.asset_key.to_user_string()} partition {context.partition_key}: "
            f"{outside:,} of {data.num_rows:,} rows have {column} outside [{start}, {end}); "
            "nothing was written."
        )
