"""The Dagster instance of a data directory: run history and event logs, shared by the UI,
`playground run` and `playground materialize`.

The instance is opened from its folder (`instance()`), never through DAGSTER_HOME in this
process's environment; `dagster dev` gets DAGSTER_HOME in the environment it is started with.
"""

from __future__ import annotations

from pathlib import Path

from playground.config.settings import Settings

DAGSTER_YAML = """\
# Written by `playground run`. Dagster keeps run history and event logs in this folder.
telemetry:
  enabled: false
"""
# The UI's first-visit "Join the Dagster community" dialog covers the asset graph.
NO_NUX = "nux:\n  enabled: false\n"


def dagster_home(settings: Settings) -> Path:
    """DAGSTER_HOME under the data directory, with telemetry and the first-visit dialog off."""
    home = settings.data_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML + NO_NUX, encoding="utf-8")
    elif "nux:" not in (text := config.read_text(encoding="utf-8")):  # written by an older version
        config.write_text(text.rstrip("\n") + "\n" + NO_NUX, encoding="utf-8")
    return home


def instance(settings: Settings):
    """The data directory's Dagster instance (a context manager: `with instance(s) as i:`)."""
    import dagster as dg  # about 1.5 s; `playground doctor` and `--help` do not need it

    return dg.DagsterInstance.from_config(str(dagster_home(settings)))
