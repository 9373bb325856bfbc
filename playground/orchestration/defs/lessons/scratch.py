"""dagstermill's scratch folder, moved from the machine-wide `/tmp/dagstermill` into the data dir.

dagstermill marshals each run's inputs (pickles a notebook then loads) under
`get_system_temp_directory()/dagstermill`, which is `/tmp` on every Unix. The first user of the
machine owns that folder, so every other user's notebook assets fail with PermissionError, and
the pickles lie where other users can reach them. dagstermill has no setting for it, so its module
attribute is replaced here, in this one place;
`tests/orchestration/defs/lessons/test_scratch.py` fails loudly if dagstermill renames or stops
using it.
"""

from __future__ import annotations

from dagstermill import factory

from playground.config.settings import get_settings

ATTRIBUTE = "get_system_temp_directory"


def scratch_dir() -> str:
    """`<data dir>/tmp`, private to its owner."""
    path = get_settings().data_dir / "tmp"
    path.mkdir(mode=0o700, exist_ok=True)
    return str(path)


def install() -> None:
    """Point dagstermill's scratch folder at `scratch_dir()` (for this process)."""
    if not callable(getattr(factory, ATTRIBUTE, None)):
        raise RuntimeError(
            f"dagstermill.factory.{ATTRIBUTE} is gone: dagstermill changed how it picks its "
            "scratch folder; update playground/orchestration/defs/lessons/scratch.py."
        )
    setattr(factory, ATTRIBUTE, scratch_dir)
