"""Resources shared by the Dagster code location."""

from dagstermill import ConfigurableLocalOutputNotebookIOManager

from playground.io_managers import ArrowIcebergIOManager


def resources() -> dict:
    """Resource instances keyed as the assets expect them.

    Connection details are not fields here: each resource reads the playground settings
    (environment, then `.env`, then `.env.example`'s defaults) when it runs, so the same
    definitions serve embedded and stack mode and no credential is written into code.
    """
    return {
        "iceberg_io_manager": ArrowIcebergIOManager(),
        # Executed notebooks go to the Dagster instance's storage folder.
        "output_notebook_io_manager": ConfigurableLocalOutputNotebookIOManager(),
    }
