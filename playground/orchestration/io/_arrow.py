"""What the playground's IO managers accept and hand back: Arrow tables, or pandas on request."""

import dagster as dg
import pandas as pd
import pyarrow as pa


def to_arrow(obj, context: dg.OutputContext, manager: str) -> pa.Table:
    """`obj` as an Arrow table; a TypeError naming the asset for anything else."""
    if isinstance(obj, pd.DataFrame):
        obj = pa.Table.from_pandas(obj, preserve_index=False)
    if not isinstance(obj, pa.Table):
        raise TypeError(
            f"the {manager} IO manager stores pyarrow Tables or pandas DataFrames; asset "
            f"{context.asset_key.to_user_string()} returned {type(obj).__name__}."
        )
    return obj


def as_requested(table: pa.Table, context: dg.InputContext) -> pa.Table | pd.DataFrame:
    """pandas when the input is annotated `pd.DataFrame`, else Arrow (also when the context was
    built without a type, as `build_input_context` does by default)."""
    try:
        wanted = context.dagster_type.typing_type
    except dg.DagsterInvariantViolationError:
        return table
    return table.to_pandas() if wanted is pd.DataFrame else table
