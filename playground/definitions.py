"""The playground's Dagster code location."""

import dagster as dg

from playground.iris import assets as iris_assets
from playground.iris import checks as iris_checks
from playground.lessons.assets import promoted_lesson_assets
from playground.resources import resources

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([iris_assets]), *promoted_lesson_assets()],
    asset_checks=dg.load_asset_checks_from_modules([iris_checks]),
    resources=resources(),
    # The assets are small and each step process re-imports the code location (seconds on a
    # laptop), so one process is much faster than the multiprocess default here.
    executor=dg.in_process_executor,
)
