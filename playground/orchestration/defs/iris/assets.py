import dagster as dg
import pyarrow as pa

from playground.datasets.iris import dataset


@dg.asset(key_prefix="iris", group_name="iris", io_manager_key="iceberg_io_manager")
def iris_dataset() -> pa.Table:
    """The raw iris measurements (Fisher, 1936): 150 flowers, four sizes in cm and the species.

    Read from the CSV shipped with the `playground` package and validated line by line; a bad file
    fails the run before anything is written. Stored as the Iceberg table `iris.iris_dataset`.
    """
    return dataset.read_csv()


@dg.asset(key_prefix="iris", group_name="iris", io_manager_key="iceberg_io_manager")
def iris_cleaned(iris_dataset: pa.Table) -> pa.Table:
    """Iris without incomplete rows or exact duplicates (149 flowers from the raw 150).

    Stored as the Iceberg table `iris.iris_cleaned`, which the lessons and notebooks read.
    """
    return dataset.clean(iris_dataset)
