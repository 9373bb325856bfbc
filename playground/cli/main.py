"""The `playground` command.

Imports inside functions: each command imports only what it runs, so `playground --help` and
`playground services status` start in a tenth of a second.
"""

from __future__ import annotations

import argparse
import gc
import sys


def _services(args: argparse.Namespace) -> int:
    from playground.services import postgres

    action = {"start": postgres.start, "stop": postgres.stop, "status": postgres.status}
    status = action[args.action]()
    print(status.detail)
    return 0 if args.action != "status" or status.running else 1


def _start_embedded() -> None:
    """Start the embedded PostgreSQL for a command that reads it (nothing to do in stack mode)."""
    from playground.config.settings import get_settings
    from playground.services import postgres

    settings = get_settings()
    if not settings.is_stack and not postgres.status(settings).running:
        print(postgres.start(settings).detail, flush=True)


def _stack(args: argparse.Namespace) -> int:
    from playground.stack import control

    return control.main(args.action)


def _bi(args: argparse.Namespace) -> int:
    from playground.stack import superset

    state = {"start": superset.start, "stop": superset.stop, "status": superset.status}[
        args.action
    ]()
    print(f"{'ok ' if state.running else '-- '} superset  {state.detail}")
    if args.action == "start":
        from playground.config.secrets import path
        from playground.config.settings import get_settings

        settings = get_settings()
        print(
            f"Log in as {settings.superset_admin_user!r} with PLAYGROUND_SUPERSET_ADMIN_PASSWORD "
            f"(generated into {path(settings.data_dir)} unless .env sets it)."
        )
    return 0 if state.running or args.action == "stop" else 1


def _secrets(_args: argparse.Namespace) -> int:
    from playground.config import secrets
    from playground.config.settings import get_settings, project_root

    settings = get_settings()
    from playground.stack import trino_tls  # the compose stack's Trino reads the same login

    login = trino_tls.ensure(settings, settings.trino_port)
    values = {field: getattr(settings, field) for field in secrets.GENERATED}
    values["trino_password"] = login.password  # what the compose stack's BI services log in with
    env_file = project_root() / ".env"
    written = secrets.write_env(env_file, values, project_root() / ".env.example")
    if written:
        print(f"wrote {', '.join(written)} into {env_file} (mode 0600; the values are not shown)")
    else:
        print(f"{env_file} already sets every key and password")
    print(f"Trino's login (certificate, password file): {login.keystore.parent}")
    return 0


def _doctor(_args: argparse.Namespace) -> int:
    from playground.cli import doctor

    return doctor.main()


def _promote(args: argparse.Namespace) -> int:
    from playground.orchestration import promote

    if args.check:
        problems = [
            p for p in map(promote.stale, sorted(promote.promoted_dir().glob("*.ipynb"))) if p
        ]
        for problem in problems:
            print(problem)
        print(f"{len(problems)} promoted notebook(s) out of date." if problems else "up to date")
        return 1 if problems else 0
    if not args.lessons:
        raise SystemExit("name the lesson(s) to promote, e.g. `playground promote 00_tour`")
    for name in args.lessons:
        print(f"wrote {promote.promote(name)}")
    return 0


def _dbt(args: argparse.Namespace) -> int:
    from playground.orchestration import dbt_project

    if args.dbt_args in ([], ["prepare"]):
        parsed = dbt_project.prepare()
        print("dbt manifest ready" if parsed else "dbt manifest already current")
        return 0
    return dbt_project.run(args.dbt_args).returncode


def _materialize(args: argparse.Namespace) -> int:
    from playground.cli import run
    from playground.config.settings import get_settings

    if args.what == "pagila":
        from playground.orchestration import pipeline

        stages = pipeline.materialize_pagila(get_settings(), partition=args.partition)
        print(
            f"materialized pagila: {sum(stages.rows.values()):,} rows in {len(stages.rows)} "
            f"tables, checks and dbt in {stages.total:.1f} s (extract {stages.extract:.1f} s, "
            f"checks {stages.checks:.1f} s, dbt {stages.dbt:.1f} s)"
        )
        return 0
    built = run.materialize_starter_assets(get_settings(), force=args.force)
    print("materialized iris assets" if built else "iris assets already materialized (--force)")
    return 0


def _seed(args: argparse.Namespace) -> int:
    from playground.datasets.pagila import seed

    counts = seed.seed(
        scale=args.scale, seed=args.seed, dump=args.dump, target=args.target,
        database=args.database, force=args.force, if_missing=args.if_missing,
    )  # fmt: skip
    if counts:
        print(f"{sum(counts.values()):,} rows in {len(counts)} tables")
    return 0


def _changes(args: argparse.Namespace) -> int:
    from playground.config.settings import get_settings
    from playground.datasets.pagila import changes
    from playground.services import postgres

    database = args.database or get_settings().pagila_db
    with postgres.connect(database) as conn:
        for _ in range(args.days):
            print(changes.apply_day(conn, seed=args.seed).summary(), flush=True)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from playground.bench import extract as bench
    from playground.extract.api import METHODS

    if args.bench == "seed":
        from playground.bench.seed import bench_seed

        bench_seed(args.scale, seed=args.seed)
    elif args.bench == "pipeline":
        from playground.bench.pipeline import bench_pipeline

        bench_pipeline(args.scale)
    elif args.bench == "trino":
        from playground.bench.trino import bench_trino

        bench_trino(args.rows, args.insert_rows)
    elif args.bench == "duckdb":
        from playground.bench.duckdb import bench_duckdb

        bench_duckdb(args.scale, repeat=args.repeat)
    elif args.bench == "incremental":
        from playground.bench.incremental import bench_incremental

        bench_incremental(args.scale)
    elif args.bench == "catalog":
        from playground.bench.catalog import bench_catalog

        bench_catalog(args.rows, args.commits)
    else:
        bench.bench_extract(args.rows, args.methods or list(METHODS), repeat=args.repeat)
    return 0


def _extract(args: argparse.Namespace) -> int:
    from playground import extract

    extract.extract(
        args.to, table=args.table, query=args.query, source=args.source, method=args.method,
        batch_rows=args.batch_rows, partition_by=args.partition_by, mode=args.mode,
    )  # fmt: skip
    return 0


def _clean(args: argparse.Namespace) -> int:
    from playground.lakehouse import clean

    clean.clean(dry_run=args.dry_run)
    return 0


def _run(args: argparse.Namespace) -> int:
    from playground.cli import run

    return run.run(materialize=not args.no_materialize)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="playground", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    services = commands.add_parser("services", help="start, stop or show the embedded PostgreSQL")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(func=_services)

    stack = commands.add_parser(
        "stack", help="PostgreSQL over TCP, S3 and Trino as local processes (no Docker)"
    )
    stack.add_argument("action", choices=["up", "down", "status"])
    stack.set_defaults(func=_stack)

    superset = commands.add_parser(
        "bi", help="Superset over the warehouse (and Trino), in its own virtualenv (no Docker)"
    )
    superset.add_argument("action", choices=["start", "stop", "status"])
    superset.set_defaults(func=_bi)

    secrets = commands.add_parser(
        "secrets", help="write this install's generated keys and passwords into .env (compose)"
    )
    secrets.set_defaults(func=_secrets)

    doctor = commands.add_parser("doctor", help="check every component and say how to fix it")
    doctor.set_defaults(func=_doctor)

    promote = commands.add_parser("promote", help="export marimo lessons for dagstermill")
    promote.add_argument("lessons", nargs="*", help="lesson names, e.g. 00_tour")
    promote.add_argument(
        "--check", action="store_true", help="fail if any promoted notebook is stale"
    )
    promote.set_defaults(func=_promote)

    materialize = commands.add_parser(
        "materialize", help="build the iris assets, or the whole pagila pipeline"
    )
    materialize.add_argument("what", nargs="?", choices=["iris", "pagila"], default="iris")
    materialize.add_argument("--force", action="store_true", help="iris: even if already built")
    materialize.add_argument(
        "--partition", help="pagila: only this month of rental and payment (e.g. 2022-05-01)"
    )
    materialize.set_defaults(func=_materialize)

    seed = commands.add_parser("seed", help="create or replace the pagila database")
    seed.add_argument("--scale", type=float, default=1.0, help="scale factor (1 = upstream size)")
    seed.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    seed.add_argument("--dump", help="load upstream pagila's SQL files from this folder instead")
    seed.add_argument(
        "--target", help="'embedded' (default in embedded mode), 'stack', or a postgresql:// URL"
    )
    seed.add_argument("--database", help="database to create or replace (default: pagila)")
    seed.add_argument("--force", action="store_true", help="replace a database seed did not create")
    seed.add_argument(
        "--if-missing", action="store_true", help="do nothing when the database already exists"
    )
    seed.set_defaults(func=_seed)

    day = commands.add_parser(
        "changes", help="apply days of business to pagila: rentals, returns, refunds, emails"
    )
    day.add_argument("--days", type=_count, default=1, help="how many days to apply (default 1)")
    day.add_argument("--seed", type=int, default=0, help="random seed (same seed, same changes)")
    day.add_argument("--database", help="the pagila database to change (default: pagila)")
    day.set_defaults(func=_changes, needs_postgres=True)

    bench = commands.add_parser("bench", help="measure the playground's heavy commands")
    bench_commands = bench.add_subparsers(dest="bench", required=True)
    bench_seed = bench_commands.add_parser("seed", help="seed at several scales, one process each")
    bench_seed.add_argument("--scale", type=float, nargs="+", default=[1, 10, 100])
    bench_seed.add_argument("--seed", type=int, default=42)
    bench_seed.set_defaults(func=_bench)

    bench_extract = bench_commands.add_parser("extract", help="extraction methods vs anchors")
    bench_extract.add_argument("--rows", type=_count, default=2_000_000)
    bench_extract.add_argument("--methods", nargs="+", default=None, help="default: all")
    bench_extract.add_argument(
        "--repeat", type=_count, default=1, help="interleaved rounds; the table shows medians"
    )
    bench_extract.set_defaults(func=_bench, needs_postgres=True)

    bench_pipeline = bench_commands.add_parser(
        "pipeline", help="the pagila pipeline from scratch in one process, seconds per stage"
    )
    bench_pipeline.add_argument("--scale", type=float, default=10.0)
    bench_pipeline.set_defaults(func=_bench)

    bench_incremental = bench_commands.add_parser(
        "incremental", help="lesson 05: changed months and change data capture vs a full reload"
    )
    bench_incremental.add_argument("--scale", type=float, default=10.0)
    bench_incremental.set_defaults(func=_bench)

    bench_duckdb = bench_commands.add_parser(
        "duckdb", help="lesson 02's queries over Iceberg, raw Parquet and PostgreSQL"
    )
    bench_duckdb.add_argument("--scale", type=float, default=100.0)
    bench_duckdb.add_argument("--repeat", type=_count, default=5, help="runs per query (median)")
    bench_duckdb.set_defaults(func=_bench)

    bench_trino = bench_commands.add_parser(
        "trino", help="three ways to store a frame for Trino (needs stack-mode settings)"
    )
    bench_trino.add_argument("--rows", type=_count, default=1_000_000)
    bench_trino.add_argument(
        "--insert-rows",
        type=_count,
        default=10_000,
        help="rows for the slow INSERT ... VALUES path",
    )
    bench_trino.set_defaults(func=_bench)

    bench_catalog = bench_commands.add_parser(
        "catalog", help="the REST catalog: commit latency vs the SQL catalog, DuckDB vs PyIceberg"
    )
    bench_catalog.add_argument("--rows", type=_count, default=1_000_000)
    bench_catalog.add_argument("--commits", type=_count, default=20, help="one-row appends")
    bench_catalog.set_defaults(func=_bench)

    dbt = commands.add_parser(
        "dbt", help="`dbt prepare` writes the manifest; anything else runs dbt on dbt_project/"
    )
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="e.g. prepare, build, test")
    dbt.set_defaults(func=_dbt)

    extract = commands.add_parser("extract", help="stream PostgreSQL into an Iceberg table")
    source = extract.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", help="source table (schema.table or table)")
    source.add_argument("--query", help="source query")
    extract.add_argument("--source", help="postgresql:// URL (default: the configured pagila)")
    extract.add_argument("--to", required=True, help="target Iceberg table, NAMESPACE.TABLE")
    extract.add_argument(
        "--method", default="duckdb", help="duckdb (default), adbc, pandas-chunks, pandas-concat"
    )
    extract.add_argument("--batch-rows", type=int, default=100_000, help="rows per batch")
    extract.add_argument("--partition-by", help="COLUMN:month partitions the target by month")
    extract.add_argument(
        "--mode", default="replace", help="replace (default), append or overwrite-partitions"
    )
    extract.set_defaults(func=_extract, needs_postgres=True)

    clean = commands.add_parser(
        "clean", help="remove what killed extracts and seeds left behind (never data in use)"
    )
    clean.add_argument("--dry-run", action="store_true", help="only list what would go")
    clean.set_defaults(func=_clean)

    run = commands.add_parser("run", help="serve the Dagster UI and the marimo lessons")
    run.add_argument("--no-materialize", action="store_true", help="skip the starter assets")
    run.set_defaults(func=_run)
    return root


def _count(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} is less than 1")
    return number


def _data_dir() -> object:
    """Where a full disk most likely is, for an error that names no file."""
    from playground.config.settings import get_settings

    try:
        return get_settings().data_dir
    except Exception:  # the settings themselves are what failed
        return "the data directory"


def main(argv: list[str] | None = None) -> int:
    from playground.config.settings import SettingsError

    args = parser().parse_args(argv)
    try:
        if getattr(args, "needs_postgres", False) and not getattr(args, "source", None):
            _start_embedded()
        return args.func(args)
    except Exception as exc:
        from playground.config.files import disk_full
        from playground.config.secrets import scrub

        full = disk_full(exc, _data_dir())
        if full is None and not isinstance(exc, (SettingsError, RuntimeError, ValueError)):
            raise
        print(f"playground {args.command}: {full or scrub(str(exc))}", file=sys.stderr)
        return 2
    finally:
        # The collections at interpreter exit would walk every object a command loaded (PyIceberg,
        # SQLAlchemy, pandas: about 0.3 s for an extract); the work is done, so leave them out.
        gc.freeze()
