"""Dagster: the code location (`definitions`, `defs/`), IO managers (`io/`), resources, the
instance, the pipeline runner, dbt, and promoting lessons to assets."""
