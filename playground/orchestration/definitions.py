"""The playground's Dagster code location: every module under `orchestration/defs/`, by folder.

A domain is a folder (`defs/iris`, `defs/pagila`, `defs/dbt`, `defs/lessons`) with fixed file
names (`assets.py`, `checks.py`, `schedules.py`); resources and the executor are in
`defs/resources.py`. Adding a file there adds its definitions; nothing is listed by hand.
"""

import warnings
from pathlib import Path

import dagster as dg


def load() -> dg.Definitions:
    with warnings.catch_warnings():
        # dagstermill and dagster-dbt's asset decorators are beta/preview APIs; their warnings
        # say nothing a learner can act on. Filtered here, once, for the whole code location.
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


defs = load()
