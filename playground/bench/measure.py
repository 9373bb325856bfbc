"""How every bench measures: a command in its own process, its time and its peak memory from the
OS, and the JSON report a bench child prints."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable

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


SOURCE_VARIABLE = "PLAYGROUND_MEASURED_SOURCE"  # the function's source, for the child
ARGS_VARIABLE = "PLAYGROUND_MEASURED_ARGS"  # its arguments, as a JSON list

# The child: defines the function from its source, calls it, prints its result as a report.
_CHILD = f"""
import json, os
namespace = {{}}
exec(compile(os.environ[{SOURCE_VARIABLE!r}], "<the cell's function>", "exec"), namespace)
function = namespace.pop(os.environ["PLAYGROUND_MEASURED_NAME"])
result = function(*json.loads(os.environ[{ARGS_VARIABLE!r}]))
print("BENCH " + json.dumps({{"result": result}}, default=str))
"""


def run_function(function: Callable, *args) -> dict:
    """`function` (a plain `def` that imports what it uses) defined again from its source in a
    process of its own and called with `args` (JSON values): its seconds, its peak RSS from the
    OS, and what it returned. A lesson measures the code its cell holds now this way."""
    source = textwrap.dedent(inspect.getsource(function))
    env = {
        **os.environ,
        SOURCE_VARIABLE: source,
        ARGS_VARIABLE: json.dumps(list(args)),
        "PLAYGROUND_MEASURED_NAME": function.__name__,
    }
    seconds, peak, code, output = run_measured([sys.executable, "-c", _CHILD], env=env)
    if code != 0:
        raise RuntimeError(f"{function.__name__} failed in its own process:\n{output[-2000:]}")
    return {"seconds": seconds, "peak_rss": peak, "result": child_report(output)["result"]}
