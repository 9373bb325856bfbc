"""`playground run`: start everything, serve the Dagster UI and the marimo editor, stop on Ctrl-C.

The terminal shows a few lines (each step and its time, the two URLs); the servers' output and
the detail go to the log file it names (`run_log`). Children run in their own process groups and
are stopped by PID (SIGTERM to the group, then SIGKILL after a grace period). The embedded
PostgreSQL is stopped only if this command started it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from playground.cli import run_log
from playground.cli.run_log import Say, duration
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


def marimo_edit(port: int | str) -> list[str]:
    """The `marimo edit` command serving the lessons; it reads its access token from stdin, so
    the token is in no command line (`ps` shows every user's)."""
    return [str(Path(sys.executable).parent / "marimo"), "--quiet", "edit",
            str(project_root() / "notebooks"), "--host", "127.0.0.1", "--port", str(port),
            "--headless", "--skip-update-check", "--token-password-file", "-"]  # fmt: skip


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
            raise RunError("materializing the iris assets failed; see the Dagster log of its run")
    return True


def materialize_pagila_once(settings: Settings, say: Say = print) -> str:
    """Run the pagila pipeline into the UI's instance unless its marts were ever materialized.

    At SF 1 this adds about 20 s to the first start only. A failure is reported, not raised: the
    UIs still start, and the run's logs are in the Dagster UI.
    """
    # lazy: as above
    import dagster as dg

    from playground.orchestration import pipeline

    with dagster_instance(settings) as instance:
        if instance.get_latest_materialization_event(dg.AssetKey(["marts", "sales_by_store"])):
            return "pagila already materialized"
        say("materializing pagila the first time (15 tables, their checks, dbt) ...")
        try:
            stages = pipeline.materialize_pagila(settings, instance)
        except pipeline.PipelineError as exc:
            return f"materializing pagila failed (the UIs start anyway): {exc}"
    return f"materialized pagila: {sum(stages.rows.values()):,} rows in {stages.total:.0f} s"


def seed_if_missing(settings: Settings, say: Say = print) -> bool:
    """Seed pagila at SF 1 into the embedded server unless the database exists. True if seeded."""
    with postgres.connect("postgres", settings) as conn:
        found = conn.execute(
            "select 1 from pg_database where datname = %s", (settings.pagila_db,)
        ).fetchone()
    if found:
        return False
    say(f"seeding pagila (SF 1) into database {settings.pagila_db!r} ...")
    started = time.monotonic()
    counts = seed.seed(scale=1.0, target="embedded", database=settings.pagila_db)
    say(f"seeded pagila: {sum(counts.values()):,} rows in {duration(time.monotonic() - started)}")
    return True


def _wait_http(url: str, process: subprocess.Popen, name: str, timeout: float) -> float:
    waited = wait_http(url, timeout, process)
    if waited is not None:
        return waited
    if process.poll() is not None:
        raise RunError(f"{name} exited with code {process.returncode} before answering {url}")
    raise RunError(f"{name} did not answer {url} within {timeout:.0f} s")


def _stop(processes: dict[str, subprocess.Popen], say: Say, grace: float = 20.0) -> None:
    for name, process in processes.items():
        if process.poll() is None:
            say(f"stopping {name} (pid {process.pid})")
            try:
                if name == "marimo edit":  # Ctrl-C to its server alone: it closes each lesson's
                    os.kill(process.pid, signal.SIGINT)  # kernel (SIGTERM to them leaks semaphores)
                else:
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


def _spawn(command: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.Popen:
    # Not processes.spawn: these children write to this process's stdout and stderr (the run's
    # log). Own process group: Ctrl-C reaches us only, and we stop each child's whole group by its
    # PID. `stdin`, when given, is written to the child's stdin and closed (a secret, say).
    process = subprocess.Popen(
        command, cwd=project_root(), env=env, process_group=0, preexec_fn=_default_signals,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, text=True,
    )  # fmt: skip
    if stdin is not None:
        process.stdin.write(stdin)
        process.stdin.close()
    return process


def _check_ports(settings: Settings) -> None:
    for variable, port in (
        ("PLAYGROUND_DAGSTER_PORT", settings.dagster_port),
        ("PLAYGROUND_MARIMO_PORT", settings.marimo_port),
    ):
        if not port_free(port):
            raise RunError(
                f"port {port} on 127.0.0.1 is in use. Stop what uses it (`lsof -i :{port}`) or "
                f"set {variable} to a free port."
            )


def _build(settings: Settings, materialize: bool, say: Say) -> None:
    """Seed, prepare dbt and materialize what the lessons read, saying each step."""
    if not settings.is_stack:
        seed_if_missing(settings, say)
    if dbt_project.prepare(settings=settings, progress=lambda _line: None):
        say("prepared the dbt project (dbt parse)")
    if materialize:
        started = time.monotonic()
        built = materialize_starter_assets(settings)
        took = duration(time.monotonic() - started)
        say(f"materialized iris assets in {took}" if built else "iris assets already materialized")
        if not settings.is_stack:
            say(materialize_pagila_once(settings, say))


def _summary(settings: Settings, token: str, took: float, answered: float) -> str:
    dagster_url = f"http://127.0.0.1:{settings.dagster_port}"
    marimo_url = f"http://127.0.0.1:{settings.marimo_port}"
    return (
        f"\nPlayground is up ({settings.mode} mode), {duration(took)} after `playground run` "
        f"started\n(not counting the install; the two UIs answered {duration(answered)} after "
        "their launch):\n"
        f"  Dagster UI     {dagster_url}\n"
        f"  marimo lessons {marimo_url}?access_token={token}\n"
        "pagila: Jobs → pagila_daily → Materialize all refreshes it (or, in another shell,\n"
        "`.venv/bin/playground materialize pagila`); the daily schedule is off until you\n"
        "turn it on.\n"
        "BI: `make bi` (or `.venv/bin/playground bi start`) serves Superset with the pagila\n"
        "dashboard; it is not started here (its first start installs about 0.7 GB).\n"
        "Press Ctrl-C to stop."
    )


def _serve(settings: Settings, materialize: bool, say: Say, started: float) -> int:
    started_postgres = False
    if not settings.is_stack:
        started_postgres = not postgres.status(settings).running
        say(postgres.start(settings).detail)
    processes: dict[str, subprocess.Popen] = {}

    def request_stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        _build(settings, materialize, say)
        say("starting the Dagster UI and the marimo editor ...")
        env = {**os.environ, "DAGSTER_HOME": str(dagster_home(settings))}
        token = secrets.token_urlsafe(16)
        spawned = time.monotonic()
        processes["dagster dev"] = _spawn(*dagster_dev(settings.dagster_port, env))
        processes["marimo edit"] = _spawn(marimo_edit(settings.marimo_port), env, stdin=token)
        dagster_url = f"http://127.0.0.1:{settings.dagster_port}/server_info"
        _wait_http(dagster_url, processes["dagster dev"], "dagster", 180)
        _wait_http(f"http://127.0.0.1:{settings.marimo_port}/health",
                   processes["marimo edit"], "marimo", 60)  # fmt: skip
        now = time.monotonic()
        say(_summary(settings, token, now - started, now - spawned))
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
        _stop(processes, say)
        if started_postgres:
            say(postgres.stop(settings).detail)
        say("playground stopped")


def run(materialize: bool = True) -> int:
    started = time.monotonic()
    settings = get_settings()
    _check_ports(settings)
    log = run_log.path(settings.data_dir)
    with run_log.detail_to(log) as say:
        say(f"playground run: the servers' output and the detail go to {log}")
        try:
            return _serve(settings, materialize, say, started)
        except Exception:
            say(f"playground run stopped on an error; the detail is in {log}")
            raise
