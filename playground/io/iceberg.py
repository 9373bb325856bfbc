"""Dagster IO managers that store asset outputs as Iceberg tables in the playground catalog."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import Field

from playground import lakehouse
from playground.settings import get_settings


class ArrowIcebergIOManager(dg.ConfigurableIOManager):
    """Stores an Arrow table (or pandas DataFrame) as the Iceberg table `<key prefix>.<asset name>`.

    Each materialization replaces the table's rows in one snapshot: a failed write leaves the
    previous snapshot current. Inputs load as Arrow, or as pandas when the parameter is annotated
    `pd.DataFrame`. Catalog location and credentials come from the playground settings (environment
    and `.env`) when the resource is used, not when the code location loads.
    """

    default_namespace: str = Field(
        default="public", description="Namespace for asset keys without a prefix."
    )

    @staticmethod
    def _identifier(key: dg.AssetKey, default_namespace: str) -> str:
        path = key.path
        namespace = path[-2] if len(path) > 1 else default_namespace
        return f"{namespace}.{path[-1]}"

    def handle_output(self, context: dg.OutputContext, obj: pa.Table | pd.DataFrame) -> None:
        if isinstance(obj, pd.DataFrame):
            obj = pa.Table.from_pandas(obj, preserve_index=False)
        if not isinstance(obj, pa.Table):
            raise TypeError(
                f"{type(self).__name__} stores pyarrow Tables or pandas DataFrames; "
                f"asset {context.asset_key.to_user_string()} returned {type(obj).__name__}."
            )
        identifier = self._identifier(context.asset_key, self.default_namespace)
        table = lakehouse.write_table(identifier, obj, settings=get_settings())
        snapshot = table.current_snapshot()
        context.add_output_metadata(
            {
                "dagster/row_count": obj.num_rows,
                "table": identifier,
                "snapshot_id": str(snapshot.snapshot_id) if snapshot else "",
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(f.name, str(f.type)) for f in obj.schema]
                ),
                "preview": dg.MetadataValue.md(obj.slice(0, 5).to_pandas().to_markdown()),
            }
        )

    def load_input(self, context: dg.InputContext) -> pa.Table | pd.DataFrame:
        identifier = self._identifier(context.asset_key, self.default_namespace)
        table = lakehouse.catalog().load_table(identifier).scan().to_arrow()
        if context.dagster_type.typing_type is pd.DataFrame:
            return table.to_pandas()
        return table
