"""Lessons promoted to Dagster assets (notebooks/promoted/*.ipynb, run through dagstermill)."""
