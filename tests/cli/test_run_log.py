"""`playground run`'s terminal and log, in a child process whose real stdout is a pipe the test
reads (the learner's terminal): what `say` writes reaches it, everything else (prints, warnings,
a child process's output) lands in the log, and the terminal is given back for errors."""

import subprocess
import sys
import textwrap

from tests.helpers import ROOT

SCRIPT = textwrap.dedent(
    """
    import subprocess, sys, warnings
    from pathlib import Path
    from playground.cli import run_log

    log, installed = Path(sys.argv[1]), Path(sys.argv[2])
    with run_log.detail_to(log, installed) as say:
        say("step one")
        print("a library's line")
        warnings.warn("a library's warning")
        subprocess.run([sys.executable, "-c", "import sys; print('child out'); "
                        "print('child err', file=sys.stderr)"], check=True)
        say("step two")
    print("after: the terminal again")
    """
)


def _run(tmp_path):
    log, installed = tmp_path / "data" / "logs" / "run.log", tmp_path / "venv" / "install.log"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(log), str(installed)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done, log


def test_the_terminal_gets_the_steps_and_the_log_the_rest(tmp_path) -> None:
    done, log = _run(tmp_path)
    assert done.stdout == "step one\nstep two\nafter: the terminal again\n"
    assert done.stderr == ""
    text = log.read_text()
    for line in ("a library's line", "a library's warning", "child out", "child err"):
        assert line in text
    assert "step one" not in text
    assert log.stat().st_mode & 0o777 == 0o600
    assert log.parent.stat().st_mode & 0o777 == 0o700


def test_each_start_empties_the_log_and_takes_in_the_install(tmp_path) -> None:
    _run(tmp_path)
    installed = tmp_path / "venv" / "install.log"
    installed.parent.mkdir()
    installed.write_text("Installed 254 packages\n")
    _done, log = _run(tmp_path)
    text = log.read_text()
    assert text.count("a library's line") == 1  # the first start's lines are in the previous
    assert log.with_name("run.previous.log").read_text().count("a library's line") == 1
    assert log.with_name("run.previous.log").stat().st_mode & 0o777 == 0o600
    assert text.index("Installed 254 packages") < text.index("=== playground run")
    assert not installed.exists()  # moved into the log, not copied
    _done, log = _run(tmp_path)
    assert "Installed 254 packages" not in log.read_text()  # that start's, not the next one's


def test_duration_says_minutes_past_a_minute() -> None:
    from playground.cli.run_log import duration

    assert [duration(s) for s in (0.4, 42, 59.6, 105, 3600)] == [
        "0 s", "42 s", "1 min 00 s", "1 min 45 s", "60 min 00 s"
    ]  # fmt: skip
