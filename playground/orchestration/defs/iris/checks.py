import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from playground.datasets.iris import dataset
from playground.orchestration.defs.iris.assets import iris_cleaned


@dg.asset_check(asset=iris_cleaned, blocking=True)
def iris_cleaned_is_complete(iris_cleaned: pa.Table) -> dg.AssetCheckResult:
    """No missing values, no duplicate rows, positive sizes, and exactly the three iris species."""
    nulls = {name: iris_cleaned.column(name).null_count for name in iris_cleaned.column_names}
    species = dataset.species_counts(iris_cleaned)
    unique_rows = iris_cleaned.group_by(iris_cleaned.column_names).aggregate([]).num_rows
    smallest = min(pc.min(iris_cleaned.column(m)).as_py() or 0.0 for m in dataset.MEASUREMENTS)
    passed = (
        sum(nulls.values()) == 0
        and len(species) == 3
        and unique_rows == iris_cleaned.num_rows
        and smallest > 0
    )
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "null_values": sum(nulls.values()),
            "species": dg.MetadataValue.json(species),
            "duplicate_rows": iris_cleaned.num_rows - unique_rows,
            "smallest_measurement_cm": smallest,
        },
    )
