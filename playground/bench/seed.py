"""`playground bench seed`, and the scratch pagila the other benches measure against."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from playground.bench.measure import run_measured
from playground.config.settings import get_settings
from playground.services import postgres


@contextmanager
def scratch_pagila(scale: float, print_=print) -> Iterator[dict]:
    """A scratch data directory with its own embedded PostgreSQL, pagila seeded at `scale` (not
    timed); yields the environment for child processes. The server is stopped and the folder
    removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="playground-bench-"))
    env = {**os.environ, "PLAYGROUND_DATA_DIR": str(scratch), "PLAYGROUND_MODE": "embedded"}
    try:
        print_(f"seeding pagila at SF {scale:g} into {scratch} (not timed) ...")
        seeded = subprocess.run(
            [sys.executable, "-m", "playground.cli", "seed", "--scale", str(scale)],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        if seeded.returncode != 0:
            raise RuntimeError(f"seeding failed:\n{(seeded.stdout + seeded.stderr)[-2000:]}")
        yield env
    finally:
        postgres.stop(replace(get_settings(), data_dir=scratch, mode="embedded"))
        shutil.rmtree(scratch, ignore_errors=True)


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
    postgres.drop_database("pagila_bench")
    return rows
