"""An S3 endpoint without Docker whose data survives a restart: versitygw serving a folder.

versitygw (Apache-2.0) is an S3 gateway; its `posix` backend stores every bucket as a folder and
every object as a plain file, so the stack's warehouse is on disk under `<data dir>/stack/s3/data`.
It is a Go program built once through the Go module proxy (`go install`, needs Go) into
`~/.cache/playground/bin`. Object metadata goes into a sidecar folder (`--sidecar`), so file
systems without extended attributes work too. It binds to 127.0.0.1; stop it by PID.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from playground.config.settings import Settings
from playground.services import processes
from playground.services.net import wait_port
from playground.stack.downloads import cache_dir

MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSION = "v1.8.0"


_building = threading.Lock()  # one `go install` at a time in a process


class S3Unavailable(RuntimeError):
    """The local S3 server cannot be built or started; the message says what is missing."""


def _target() -> Path:
    return cache_dir() / "bin" / f"versitygw-{VERSION}"


def built() -> Path | None:
    """The versitygw executable if it was built already."""
    return _target() if _target().is_file() else None


def binary(progress=print) -> Path:
    """The versitygw executable, built with `go install` the first time."""
    with _building:
        if found := built():
            return found
        target = _target()
        go = shutil.which("go")
        if go is None:
            raise S3Unavailable(
                f"the local object store (versitygw {VERSION}) is built with Go, and `go` is not "
                "on PATH. Install Go 1.24 or newer (https://go.dev/dl), or run the compose stack "
                "(`docker compose up --wait`)."
            )
        progress(
            f"building versitygw {VERSION} through the Go module proxy (once, about 2 min) ..."
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as gobin:
            done = subprocess.run(
                [go, "install", f"{MODULE}@{VERSION}"],
                env={**os.environ, "GOBIN": gobin, "GOFLAGS": "-mod=mod"},
                capture_output=True, text=True, timeout=1800,
            )  # fmt: skip
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
