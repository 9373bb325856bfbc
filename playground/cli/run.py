"""`playground run`: start everything, serve the Dagster UI and the marimo editor, stop on Ctrl-C.

Children run in their own process groups and are stopped by PID (SIGTERM to the group, then SIGKILL
after a grace period). The embedded PostgreSQL is stopped only if this command started it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from playground.config.settings import Settings, get_settings, project_root
from playground.datasets.pagila import seed
from playground.orchestration import dbt_project
from playground.orchestration.instance import dagster_home
from playground.orchestration.instance import instance as dagster_instance
from playground.services import postgres
from playground.services.net import port_free, wait_http

STARTER_ASSETS = ("iris/iris_dataset", "iris/iris_cleaned")
# dagster 1.13 marks `dagster dev` as superseded by `dg dev`, from the separate dagster-dg-cli
# package this project does not install; the warning says nothing a learner can act on.
QUIET_DAGSTER_DEV = "ignore:Function `dev_command` is superseded"


def dagster_dev(port: int | str, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The `dagster dev` command and environment, to run in the project root.

    Without `-m`, dagster reads the module and the location name (`playground`) from
    pyproject.toml's `[tool.dagster]`; with `-m` it would name the location after the module,
    which `[tool.dg]`'s code_location_name contradicts (a warning per component).
    """
    warnings = ",".join(filter(None, (env.get("PYTHONWARNINGS"), QUIET_DAGSTER_DEV)))
    command = [str(Path(sys.executable).parent / "dagster"), "dev",
               "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip
    return command, {**env, "PYTHONWARNINGS": warnings}


class RunError(RuntimeError):
    """`playground run` cannot start; the message says what to do."""


def materialize_starter_assets(settings: Settings, force: bool = False) -> bool:
    """Materialize the iris assets into the Dagster instance unless they already were.

    Returns True if it materialized them.
    """
    # lazy: the code location loads only once dbt's manifest is prepared (run() does it first)
    import dagster as dg

    from playground import lakehouse
    from playground.orchestration.definitions import defs

    keys = [dg.AssetKey.from_user_string(k) for k in STARTER_ASSETS]
    with dagster_instance(settings) as instance:
        recorded = all(instance.get_latest_materialization_event(k) for k in keys)
        exists = lakehouse.catalog(settings).table_exists("iris.iris_cleaned")
        if recorded and exists and not force:
            return False
        result = dg.materialize(
            [defs.get_assets_def(k) for k in keys],
            instance=instance,
            resources=defs.resources,
            selection=keys,
        )
        if not result.success:
            raise RunError("materializing the iris assets failed; see the Dagster log above")
    return True


def materialize_pagila_once(settings: Settings) -> str:
    """Run the pagila pipeline into the UI's instance unless its marts were ever materialized.

    At SF 1 this adds about 18 s to the first start only. A failure is reported, not raised: the
    UIs still start, and the run's logs are in the Dagster UI.
    """
    # lazy: as above
    import dagster as dg

    from playground.orchestration import pipeline

    with dagster_instance(settings) as instance:
        if instance.get_latest_materialization_event(dg.AssetKey(["marts", "sales_by_store"])):
            return "pagila already materialized"
        print("materializing pagila the first time (15 tables, checks, dbt) ...", flush=True)
        try:
            stages = pipeline.materialize_pagila(settings, instance, progress=lambda _line: None)
        except pipeline.PipelineError as exc:
            return f"materializing pagila failed (the UIs start anyway): {exc}"
    return f"materialized pagila: {sum(stages.rows.values()):,} rows in {stages.total:.0f} s"


def seed_if_missing(settings: Settings) -> bool:
    """Seed pagila at SF 1 into the embedded server unless the database exists. True if seeded."""
    with postgres.connect("postgres", settings) as conn:
        found = conn.execute(
            "select 1 from pg_database where datname = %s", (settings.pagila_db,)
        ).fetchone()
    if found:
        return False
    print(f"seeding pagila (SF 1) into database {settings.pagila_db!r} ...", flush=True)
    seed.seed(scale=1.0, target="embedded", database=settings.pagila_db)
    return True


def _wait_http(url: str, process: subprocess.Popen, name: str, timeout: float) -> float:
    waited = wait_http(url, timeout, process)
    if waited is not None:
        return waited
    if process.poll() is not None:
        raise RunError(f"{name} exited with code {process.returncode} before answering {url}")
    raise RunError(f"{name} did not answer {url} within {timeout:.0f} s")


def _stop(processes: dict[str, subprocess.Popen], grace: float = 20.0) -> None:
    for name, process in processes.items():
        if process.poll() is None:
            print(f"stopping {name} (pid {process.pid})", flush=True)
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for process in processes.values():
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:  # anything left in the group (the webserver and code server of dagster dev, say)
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def _default_signals() -> None:
    # A shell that starts us with `&` makes SIGINT ignored, and children inherit that (dagster dev
    # then ignores SIGTERM too): restore the defaults before exec.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)


def _spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Not processes.spawn: these children write to the learner's terminal, not to a log file.
    # Own process group: Ctrl-C reaches us only, and we stop each child's whole group by its PID.
    return subprocess.Popen(
        command, cwd=project_root(), env=env, process_group=0, preexec_fn=_default_signals
    )


def run(materialize: bool = True) -> int:
    settings = get_settings()
    for variable, port in (
        ("PLAYGROUND_DAGSTER_PORT", settings.dagster_port),
        ("PLAYGROUND_MARIMO_PORT", settings.marimo_port),
    ):
        if not port_free(port):
            raise RunError(
                f"port {port} on 127.0.0.1 is in use. Stop what uses it (`lsof -i :{port}`) or "
                f"set {variable} to a free port."
            )
    bin_dir = Path(sys.executable).parent
    home = dagster_home(settings)
    started_postgres = False
    if not settings.is_stack:
        started_postgres = not postgres.status(settings).running
        print(postgres.start(settings).detail, flush=True)
    processes: dict[str, subprocess.Popen] = {}

    def request_stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        if not settings.is_stack:
            seed_if_missing(settings)

        dbt_project.prepare(settings=settings)  # the code location reads dbt's manifest
        if materialize:
            print("checking the starter assets (iris) ...", flush=True)
            built = materialize_starter_assets(settings)
            print("materialized iris assets" if built else "iris assets already materialized")
            if not settings.is_stack:
                print(materialize_pagila_once(settings), flush=True)
        env = {**os.environ, "DAGSTER_HOME": str(home)}
        token = secrets.token_urlsafe(16)
        processes["dagster dev"] = _spawn(*dagster_dev(settings.dagster_port, env))
        processes["marimo edit"] = _spawn(
            [str(bin_dir / "marimo"), "edit", str(project_root() / "notebooks"),
             "--host", "127.0.0.1", "--port", str(settings.marimo_port), "--headless",
             "--skip-update-check", "--token-password", token],
            env,
        )  # fmt: skip
        dagster_url = f"http://127.0.0.1:{settings.dagster_port}"
        marimo_url = f"http://127.0.0.1:{settings.marimo_port}"
        waited = _wait_http(f"{dagster_url}/server_info", processes["dagster dev"], "dagster", 180)
        _wait_http(f"{marimo_url}/health", processes["marimo edit"], "marimo", 60)
        print(
            f"\nPlayground is up ({settings.mode} mode, ready in {waited:.0f} s):\n"
            f"  Dagster UI     {dagster_url}\n"
            f"  marimo lessons {marimo_url}?access_token={token}\n"
            "pagila: Jobs → pagila_daily → Materialize all refreshes it (or, in another shell,\n"
            "`.venv/bin/playground materialize pagila`); the daily schedule is off until you\n"
            "turn it on.\n"
            "BI: `make bi` (or `.venv/bin/playground bi start`) serves Superset with the pagila\n"
            "dashboard; it is not started here (its first start installs about 0.7 GB).\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while True:
            for name, process in processes.items():
                if process.poll() is not None:
                    raise RunError(f"{name} exited unexpectedly (code {process.returncode})")
            time.sleep(0.5)
    except KeyboardInterrupt:
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)  # let the clean-up finish
        _stop(processes)
        if started_postgres:
            print(postgres.stop(settings).detail, flush=True)
        print("playground stopped", flush=True)
