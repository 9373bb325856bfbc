"""Resources shared by the Dagster code location."""

import warnings

import dagster as dg

from playground.io_managers import ArrowIcebergIOManager

with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)  # dagstermill is beta; nothing to act on
    from dagstermill import ConfigurableLocalOutputNotebookIOManager


def resources() -> dict:
    """Resource instances keyed as the assets expect them.

    Connection details are not fields here: each resource reads the playground settings
    (environment, then `.env`, then `.env.example`'s defaults) when it runs, so the same
    definitions serve embedded and stack mode and no credential is written into code.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        # Executed notebooks go to the Dagster instance's storage folder.
        notebooks = ConfigurableLocalOutputNotebookIOManager()
    return {"iceberg_io_manager": ArrowIcebergIOManager(), "output_notebook_io_manager": notebooks}
