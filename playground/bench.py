"""`playground bench seed`: time and peak memory of seeding, each run in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time


def run_measured(command: list[str]) -> tuple[float, int, int, str]:
    """Run a command in its own process; return (seconds, peak RSS in bytes, exit code, output)."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is KiB on Linux, bytes on macOS
    peak = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return seconds, peak, process.returncode, output


def bench_seed(scales: list[float], seed: int = 42, print_=print) -> list[dict]:
    """Seed each scale into `pagila_bench` (then drop it) and print a table."""
    rows = []
    print_(
        f"{'SF':>6} {'rentals':>12} {'payments':>12} {'seconds':>9} {'rows/s':>11} {'peak RSS':>10}"
    )
    for scale in scales:
        command = [
            sys.executable, "-m", "playground.cli", "seed", "--scale", str(scale),
            "--seed", str(seed), "--database", "pagila_bench",
        ]  # fmt: skip
        seconds, peak, code, output = run_measured(command)
        if code != 0:
            raise RuntimeError(f"seeding SF {scale} failed:\n{output[-2000:]}")
        counts = {
            line.split()[0]: int(line.split()[1].replace(",", ""))
            for line in output.splitlines()
            if line.strip().startswith(("rental ", "payment "))
        }
        facts = counts.get("rental", 0) + counts.get("payment", 0)
        rows.append({"scale": scale, "seconds": seconds, "peak_rss": peak, **counts})
        print_(
            f"{scale:>6g} {counts.get('rental', 0):>12,} {counts.get('payment', 0):>12,} "
            f"{seconds:>9.1f} {facts / seconds:>11,.0f} {peak / 2**20:>8.0f} MB"
        )
    _drop_bench_database()
    return rows


def _drop_bench_database() -> None:
    from psycopg import sql

    from playground import postgres

    with postgres.connect("postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier("pagila_bench")
            )
        )
