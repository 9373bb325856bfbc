"""Snowflake is wired only when configured; a half configuration or a missing package says so."""

import importlib.util
import subprocess
from dataclasses import replace

import pytest

from playground.orchestration.io.snowflake import SnowflakeNotConfigured, snowflake_io_manager
from tests.helpers import BIN

FULL = {
    "snowflake_account": "xy12345.eu-central-1", "snowflake_user": "learner",
    "snowflake_password": "not-a-real-password", "snowflake_database": "PAGILA",
    "snowflake_warehouse": "COMPUTE_WH",
}  # fmt: skip
INSTALLED = importlib.util.find_spec("dagster_snowflake_pandas") is not None


def test_not_configured_means_not_wired(settings) -> None:
    assert snowflake_io_manager(settings) is None


def test_half_a_configuration_names_what_is_missing(settings) -> None:
    half = replace(settings, snowflake_account="xy12345", snowflake_user="learner")
    with pytest.raises(SnowflakeNotConfigured) as error:
        snowflake_io_manager(half)
    message = str(error.value)
    for variable in ("PLAYGROUND_SNOWFLAKE_PASSWORD", "PLAYGROUND_SNOWFLAKE_DATABASE",
                     "PLAYGROUND_SNOWFLAKE_WAREHOUSE"):  # fmt: skip
        assert variable in message
    assert "PLAYGROUND_SNOWFLAKE_USER" not in message


@pytest.mark.skipif(INSTALLED, reason="the snowflake extra is installed here")
def test_configured_without_the_extra_says_how_to_install_it(settings) -> None:
    with pytest.raises(SnowflakeNotConfigured, match=r"-e '\.\[snowflake\]'"):
        snowflake_io_manager(replace(settings, **FULL))


@pytest.mark.skipif(not INSTALLED, reason="needs the snowflake extra")
def test_configured_with_the_extra_is_the_official_io_manager(settings) -> None:
    from dagster_snowflake_pandas import SnowflakePandasIOManager

    manager = snowflake_io_manager(replace(settings, **FULL))
    assert isinstance(manager, SnowflakePandasIOManager)
    assert manager.database == "PAGILA"


@pytest.mark.slow
def test_the_code_location_loads_with_and_without_snowflake(tmp_path) -> None:
    code = "from playground.orchestration.definitions import defs; print(sorted(defs.resources))"
    plain = subprocess.run([str(BIN / "python"), "-c", code], capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert "snowflake_io_manager" not in plain.stdout
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"PLAYGROUND_{k.upper()}={v}\n" for k, v in FULL.items()))
    import os

    env = {**os.environ, "PLAYGROUND_ENV_FILE": str(env_file)}
    wired = subprocess.run([str(BIN / "python"), "-c", code], capture_output=True, text=True,
                           env=env)  # fmt: skip
    if INSTALLED:
        assert wired.returncode == 0 and "snowflake_io_manager" in wired.stdout
    else:
        assert wired.returncode != 0
        assert "the Snowflake integration is not installed" in wired.stderr
