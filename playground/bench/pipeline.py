"""`playground bench pipeline --scale SF`: the whole pagila pipeline from scratch, in one process.

A scratch data directory gets its own embedded PostgreSQL, seeded at SF (not timed: that is
`playground bench seed`); then one process
(`python -m playground.orchestration.pipeline SF`) loads the code
location, prepares dbt, runs every table, check and dbt model, and re-materializes one month of
`payment`. Its peak RSS is read from the OS. The scratch server is stopped and the folder removed.
"""

from __future__ import annotations

import sys

from playground.bench.measure import child_report, run_measured
from playground.bench.seed import scratch_pagila

# Targets on 2 cores: (full build seconds, peak RSS bytes or None, one payment month seconds)
TARGETS = {10: (7.0, 1.5 * 2**30, 1.5), 100: (15.0, 1.5 * 2**30, 1.5)}


def bench_pipeline(scale: float, print_=print) -> dict:
    with scratch_pagila(scale, print_) as env:
        print_("running the pipeline in one process ...")
        seconds, peak, code, output = run_measured(
            [sys.executable, "-m", "playground.orchestration.pipeline", str(scale)], env=env
        )
        if code != 0:
            raise RuntimeError(f"the pipeline failed:\n{output[-3000:]}")
        report = child_report(output)
        report.update(process_seconds=seconds, peak_rss=peak)
    _print(report, print_)
    return report


def _print(report: dict, print_) -> None:
    build, month = report["build"], report["payment_month"]
    rows = sum(build["rows"].values())
    print_(f"pagila pipeline at SF {report['scale']:g}: {rows:,} rows in 15 tables")
    print_(f"  {'stage':<38} {'seconds':>8}")
    for name, value in (
        ("imports + code location", report["import_seconds"]),
        ("dbt prepare (once per project change)", report["dbt_prepare_seconds"]),
        ("extract: 15 tables → Iceberg", build["extract"]),
        ("checks (row count, keys, freshness)", build["checks"]),
        ("dbt build (23 models, 66 tests)", build["dbt"]),
        ("full build (the run)", build["total"]),
        ("one payment month re-materialized", month["total"]),
        ("sensor tick (row digests, both sides)", report["sensor_tick_seconds"]),
        ("whole process", report["process_seconds"]),
    ):
        print_(f"  {name:<38} {value:>8.2f}")
    print_(f"  peak RSS {report['peak_rss'] / 2**20:,.0f} MB")
    differing = report["sensor_tick_differs"]
    print_("  the sensor's tick finds " + (f"differences in {', '.join(differing)}" if differing
           else "the lakehouse equal to PostgreSQL"))  # fmt: skip
    target = TARGETS.get(report["scale"])
    if target:
        seconds, rss, month_seconds = target
        verdicts = [f"full build {build['total']:.1f} s (target ≤ {seconds:.0f} s)"]
        if rss:
            verdicts.append(f"peak RSS {report['peak_rss'] / 2**30:.2f} GB (≤ {rss / 2**30:.1f})")
        if month_seconds:
            verdicts.append(f"payment month {month['total']:.2f} s (≤ {month_seconds:g} s)")
        print_("  targets: " + "; ".join(verdicts))
