"""How every bench measures: a command in its own process, its time and its peak memory from the
OS, and the JSON report a bench child prints."""

from __future__ import annotations

import json
import subprocess
import threading
import time

from playground.services.processes import peak_rss


def run_measured(command: list[str], env: dict | None = None) -> tuple[float, int, int, str]:
    """Run a command in its own process; return (seconds, peak RSS in bytes, exit code, output).

    On Linux the peak is the child's own VmHWM, sampled until it exits: `ru_maxrss` would also
    count the pages of this (larger) parent process that the child inherited before exec. On other
    systems `ru_maxrss` is used, an overestimate by up to this process's size.
    """
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    peak = 0
    output_parts: list[str] = []
    reader = threading.Thread(target=lambda: output_parts.append(process.stdout.read()))
    reader.start()
    while process.poll() is None:
        peak = max(peak, peak_rss(process.pid))
        time.sleep(0.02)
    reader.join()
    seconds = time.monotonic() - started
    if peak == 0:
        peak = peak_rss(children=True)
    return seconds, peak, process.returncode, "".join(output_parts)


def child_report(output: str) -> dict:
    """The JSON report a bench child prints on its `BENCH ` line."""
    line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise RuntimeError(f"the bench child printed no report:\n{output[-2000:]}")
    return json.loads(line.removeprefix("BENCH "))
