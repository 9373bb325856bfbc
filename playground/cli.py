"""The `playground` command."""

from __future__ import annotations

import argparse
import sys


def _services(args: argparse.Namespace) -> int:
    from playground import postgres

    action = {"start": postgres.start, "stop": postgres.stop, "status": postgres.status}
    status = action[args.action]()
    print(status.detail)
    return 0 if args.action != "status" or status.running else 1


def _doctor(_args: argparse.Namespace) -> int:
    from playground import doctor

    return doctor.main()


def _promote(args: argparse.Namespace) -> int:
    from playground import promote

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


def _materialize(args: argparse.Namespace) -> int:
    from playground import run
    from playground.settings import get_settings

    built = run.materialize_starter_assets(get_settings(), force=args.force)
    print("materialized iris assets" if built else "iris assets already materialized (--force)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from playground import run

    return run.run(materialize=not args.no_materialize)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="playground", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    services = commands.add_parser("services", help="start, stop or show the embedded PostgreSQL")
    services.add_argument("action", choices=["start", "stop", "status"])
    services.set_defaults(func=_services)

    doctor = commands.add_parser("doctor", help="check every component and say how to fix it")
    doctor.set_defaults(func=_doctor)

    promote = commands.add_parser("promote", help="export marimo lessons for dagstermill")
    promote.add_argument("lessons", nargs="*", help="lesson names, e.g. 00_tour")
    promote.add_argument(
        "--check", action="store_true", help="fail if any promoted notebook is stale"
    )
    promote.set_defaults(func=_promote)

    materialize = commands.add_parser("materialize", help="build the starter (iris) assets")
    materialize.add_argument("--force", action="store_true", help="even if already materialized")
    materialize.set_defaults(func=_materialize)

    run = commands.add_parser("run", help="serve the Dagster UI and the marimo lessons")
    run.add_argument("--no-materialize", action="store_true", help="skip the starter assets")
    run.set_defaults(func=_run)
    return root


def main(argv: list[str] | None = None) -> int:
    from playground.settings import SettingsError

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (SettingsError, RuntimeError, ValueError) as exc:
        print(f"playground {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
