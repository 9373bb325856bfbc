"""The dbt CLI resource's two overrides of dagster-dbt internals still take effect.

`PlaygroundDbtCliResource` replaces two private members dagster-dbt calls before each dbt command
(`_cli_version`, `_initialize_dbt_core_adapter`; about 8 s a run). If dagster-dbt renames them or
stops calling them, the overrides silently do nothing: these tests fail instead.
"""

import inspect

from dagster_dbt import DbtCliResource
from dbt.version import __version__ as dbt_version

from playground.orchestration import dbt_project
from playground.orchestration.defs.dbt.assets import PlaygroundDbtCliResource


def test_dagster_dbt_still_has_and_calls_both_members() -> None:
    source = inspect.getsource(DbtCliResource)
    for name in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert hasattr(DbtCliResource, name), f"dagster-dbt no longer has {name}"
        assert f"self.{name}" in source, f"dagster-dbt no longer calls {name}"
    assert list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters) == [
        "self", "args"
    ]  # fmt: skip


def test_the_overrides_answer_without_a_subprocess_or_an_adapter() -> None:
    resource = PlaygroundDbtCliResource(
        project_dir=str(dbt_project.project_dir()), dbt_executable=str(dbt_project.executable())
    )
    assert str(resource._cli_version) == dbt_version
    assert resource._initialize_dbt_core_adapter(["build"]) is None
