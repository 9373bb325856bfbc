"""Promoted lessons as dagstermill assets, one per notebook in `notebooks/promoted/`."""

import json
import re
from pathlib import Path

import dagster as dg
from dagstermill import define_dagstermill_asset

from playground.orchestration.defs.lessons import scratch
from playground.orchestration.promote import promoted_dir


def asset_name(notebook: Path) -> str:
    """`00_tour.ipynb` → `tour`: the order prefix is for the lesson index, not the asset graph."""
    return re.sub(r"^\d+_", "", notebook.stem)


def promoted_lesson_assets(folder: Path | None = None) -> list[dg.AssetsDefinition]:
    """One dagstermill asset `lessons/<name>` per promoted notebook.

    Dependencies and the table the notebook writes come from the notebook's `playground` metadata,
    which `playground promote` copies from the lesson's header.
    """
    assets = []
    for notebook in sorted((folder or promoted_dir()).glob("*.ipynb")):
        meta = json.loads(notebook.read_text(encoding="utf-8"))["metadata"].get("playground", {})
        writes = meta.get("writes")
        description = (
            f"The lesson `{meta.get('source', notebook.name)}` run as a notebook"
            + (f"; writes the Iceberg table `{writes}`." if writes else ".")
            + " The executed notebook is kept as this asset's output."
        )
        asset = define_dagstermill_asset(
            name=asset_name(notebook),
            notebook_path=str(notebook),
            key_prefix="lessons",
            group_name="lessons",
            deps=[dg.AssetKey.from_user_string(d) for d in meta.get("deps", [])],
            description=description,
            metadata={"writes": writes or "", "source": meta.get("source", "")},
            save_notebook_on_failure=True,
        )
        assets.append(asset)
    return assets


@dg.definitions
def lessons() -> dg.Definitions:
    scratch.install()  # the run worker loads these definitions too, before it runs a notebook
    return dg.Definitions(assets=promoted_lesson_assets())
