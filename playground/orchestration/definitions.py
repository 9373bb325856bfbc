"""The playground's Dagster code location: every module under `orchestration/defs/`, by folder.

A domain is a folder (`defs/iris`, `defs/pagila`, `defs/dbt`, `defs/lessons`) with fixed file
names (`assets.py`, `checks.py`, `schedules.py`); resources and the executor are in
`defs/resources.py`. Adding a file there adds its definitions; nothing is listed by hand.
"""

import os
import warnings
from pathlib import Path

import dagster as dg

# Warnings that say nothing a learner can act on, filtered here, once, for every process that
# loads the code location (the code server, each run's worker) and the notebook kernels a
# promoted lesson's run starts (which read PYTHONWARNINGS): dagstermill and dagster-dbt are
# beta/preview APIs, and dagster, inside a kernel's running event loop, leaves its clean-up
# coroutine unawaited (context_creation_job.py).
KERNEL_WARNINGS = (
    "ignore:Class `Manager` is currently in beta",
    "ignore:Class `DagstermillExecutionContext` is currently in beta",
    "ignore:coroutine 'BaseEventLoop.shutdown_asyncgens' was never awaited:RuntimeWarning",
)


def quiet() -> None:
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    given = [w for w in os.environ.get("PYTHONWARNINGS", "").split(",") if w]
    os.environ["PYTHONWARNINGS"] = ",".join(dict.fromkeys([*given, *KERNEL_WARNINGS]))


def load() -> dg.Definitions:
    quiet()
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


defs = load()
