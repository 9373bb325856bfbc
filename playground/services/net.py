"""The one TCP probe and the HTTP probe, shared by the doctor, `playground run`, the services'
status and the local stack."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request

from playground.config.settings import START_STACK, ServiceUnavailable, Settings


def probe(host: str, port: int, timeout: float = 1.5) -> OSError | None:
    """None if host:port accepts a TCP connection, else the error that says why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc


def port_open(host: str, port: int, timeout: float = 1.5) -> bool:
    """Whether host:port accepts a TCP connection."""
    return probe(host, port, timeout) is None


def require_reachable(service: str, host: str, port: int, settings: Settings) -> None:
    """Raise `ServiceUnavailable` naming the service and the fix unless host:port accepts TCP."""
    error = probe(host, port, timeout=3)
    if error is not None:
        fix = (
            f"start the stack with {START_STACK}, or set PLAYGROUND_MODE=embedded"
            if settings.is_stack
            else "run `playground doctor`"
        )
        raise ServiceUnavailable(
            f"{service} at {host}:{port} is unreachable ({error.strerror or error}). Next: {fix}."
        )


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the kernel picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` (connections of a stopped one, still in
    TIME_WAIT, do not count: servers set SO_REUSEADDR, and so does this probe)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_port(port: int, timeout: float, process: subprocess.Popen | None = None) -> bool:
    """Wait until 127.0.0.1:`port` accepts connections; False on timeout or if `process` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port, timeout=0.5):
            return True
        if process is not None and process.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> float | None:
    """Wait until `url` answers 200; the seconds waited, or None on timeout or if `process`
    exits first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process is not None and process.poll() is not None:
            return None
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.5)
    return None
