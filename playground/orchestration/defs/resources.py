"""The resources every domain shares, and the executor."""

import dagster as dg

from playground.orchestration.resources import resources


@dg.definitions
def shared() -> dg.Definitions:
    return dg.Definitions(
        resources=resources(),
        # Each step process would re-import the code location (seconds on a laptop): one process
        # pays the imports and the catalog once for every asset of a run.
        executor=dg.in_process_executor,
    )
