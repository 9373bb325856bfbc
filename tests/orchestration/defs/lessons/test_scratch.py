"""dagstermill's scratch folder is the data directory's, not the machine-wide /tmp/dagstermill."""

import inspect

from dagstermill import factory

from playground.config.settings import get_settings
from playground.orchestration.defs.lessons import scratch


def test_dagstermill_still_picks_its_folder_the_way_scratch_replaces() -> None:
    # the wrapper replaces a module attribute that get_papermill_parameters calls: if dagstermill
    # renames it or stops calling it, this fails instead of the learner's second user
    assert "get_system_temp_directory()" in inspect.getsource(factory.get_papermill_parameters)
    scratch.install()
    assert factory.get_system_temp_directory() == str(get_settings().data_dir / "tmp")
    assert (get_settings().data_dir / "tmp").stat().st_mode & 0o777 == 0o700
