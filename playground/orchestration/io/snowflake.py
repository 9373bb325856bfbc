"""Snowflake as an optional warehouse: the official dagster-snowflake-pandas IO manager.

Wired as the resource `snowflake_io_manager` only when PLAYGROUND_SNOWFLAKE_ACCOUNT is set; then
every other PLAYGROUND_SNOWFLAKE_* setting is required and the `snowflake` extra must be installed.
The password stays in the environment (`dg.EnvVar`), never in Dagster's run config.
"""

import os

import dagster as dg

from playground.config.settings import Settings, env_name

REQUIRED = ("snowflake_account", "snowflake_user", "snowflake_password", "snowflake_database",
            "snowflake_warehouse")  # fmt: skip


class SnowflakeNotConfigured(ValueError):
    """Snowflake is half configured or its package is missing; the message says what to do."""


def snowflake_io_manager(settings: Settings) -> dg.ConfigurableIOManagerFactory | None:
    """The Snowflake IO manager, or None when Snowflake is not configured."""
    if not settings.snowflake_account:
        return None
    missing = [env_name(name) for name in REQUIRED if not getattr(settings, name)]
    if missing:
        raise SnowflakeNotConfigured(
            f"PLAYGROUND_SNOWFLAKE_ACCOUNT is set but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} empty. Set them in .env, or empty "
            "PLAYGROUND_SNOWFLAKE_ACCOUNT to run without Snowflake."
        )
    try:
        # lazy: the snowflake extra is optional
        from dagster_snowflake_pandas import SnowflakePandasIOManager
    except ImportError:
        raise SnowflakeNotConfigured(
            "PLAYGROUND_SNOWFLAKE_ACCOUNT is set but the Snowflake integration is not installed. "
            "Install it with `.venv/bin/uv pip install -c constraints.txt -e '.[snowflake]'`, or "
            "empty PLAYGROUND_SNOWFLAKE_ACCOUNT."
        ) from None
    variable = env_name("snowflake_password")
    return SnowflakePandasIOManager(
        account=settings.snowflake_account,
        user=settings.snowflake_user,
        # from the environment when it is there (kept out of run config), else from .env
        password=dg.EnvVar(variable) if os.environ.get(variable) else settings.snowflake_password,
        database=settings.snowflake_database,
        warehouse=settings.snowflake_warehouse,
    )
