"""Small helpers shared by the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 300, **kwargs):
    """Run a command from the project root and return the completed process (text output)."""
    return subprocess.run(
        command,
        cwd=kwargs.pop("cwd", ROOT),
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )
