"""The REST catalog's front door: a bearer token checked on 127.0.0.1, the server on a unix socket.

The Iceberg project's REST server has no authentication of its own, and Jetty, which serves it,
checks no bearer token without compiled code (its XML can set up Basic auth, which DuckDB's and
Trino's REST clients do not speak; they send `Authorization: Bearer <token>`, as PyIceberg does
with its `token` property). So the local stack runs the server on a **unix socket** (Jetty's
`UnixDomainServerConnector`, `docker/iceberg-rest/unix-socket.xml`) in a folder only this user
can enter, and this gate listens on the catalog's TCP port in front of it:

- a connection whose first request carries `Authorization: Bearer <this install's token>`
  (compared in constant time) is joined to the server's socket, and its bytes then flow both
  ways untouched (later requests on that keep-alive connection come from the same client);
- any other connection gets `401 Unauthorized` and is closed, before a byte reaches the server.

Chosen over a loopback port for the server, which any local user could find and reach around
the gate, and over a catalog with accounts (Polaris, Lakekeeper), which no package index ships
(docs/stack.md). The gate starts the Java server as its child, in its own process group, so
stopping the group stops both; it exits when the server does, and removes the socket's folder
(a gate killed with SIGKILL cannot: the next gate to start removes it).

`python -m playground.stack.catalog_gate PORT -- JAVA ARGS...`, with the token in the
environment (`CATALOG_TOKEN`, never on the command line; the server does not inherit it).

The compose stack runs this same file in its python image (`catalog_gate.py PORT`, no server
after `--`): the server is another container, listening on the unix socket REST_SOCKET names in
a volume only the two share, and the gate listens on the address GATE_HOST names (its
container's interfaces, `0.0.0.0`, published on 127.0.0.1 only; 127.0.0.1 unless set). A gate
that starts its own server always listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOKEN_VARIABLE = "CATALOG_TOKEN"
SOCKET_VARIABLE = "REST_SOCKET"
HOST_VARIABLE = "GATE_HOST"
# the REST protocol's error model
_REFUSAL = (
    b'{"error": {"message": "a bearer token is required", "type": "NotAuthorized", "code": 401}}'
)
UNAUTHORIZED = (
    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_REFUSAL), _REFUSAL)
)
_HEAD_LIMIT = 64 * 1024
# the folder of a gate's server socket, in the temporary directory (a socket's path is short)
FOLDER_PREFIX = "playground-catalog-"
PID_FILE = "gate.pid"
_PIDLESS_AGE = 600  # seconds: a folder without PID_FILE this old is not a gate starting up


def authorized(head: bytes, token: str) -> bool:
    """Whether a request head carries `Authorization: Bearer <token>`."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"authorization":
            scheme, _, given = value.strip().partition(b" ")
            return scheme.lower() == b"bearer" and hmac.compare_digest(
                given.strip(), token.encode()
            )
    return False


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            target.write(data)
            await target.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        target.close()


class Gate:
    def __init__(self, token: str, socket_path: Path) -> None:
        self.token, self.socket_path = token, socket_path

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            writer.close()
            return
        if not authorized(head, self.token):
            writer.write(UNAUTHORIZED)
            try:
                await writer.drain()
            except (ConnectionError, OSError):
                pass
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(str(self.socket_path))
        except OSError:
            writer.close()
            return
        up_writer.write(head)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def serve(port: int, token: str, socket_path: Path, server: subprocess.Popen | None,
                host: str = "127.0.0.1") -> int:  # fmt: skip
    """Serve `host`:`port` until the Java server exits or a signal arrives; its exit code
    (128 + the signal's number when a signal ended it, as a shell reports it). Without a
    `server` (one started elsewhere), until a signal arrives: 0."""
    gate = Gate(token, socket_path)
    listener = await asyncio.start_server(gate.handle, host, port, limit=_HEAD_LIMIT)
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopped.set)
    print(f"checking bearer tokens on {host}:{port} for {socket_path}", flush=True)
    if server is None:
        await stopped.wait()
        listener.close()
        return 0
    waiting = loop.run_in_executor(None, server.wait)
    await asyncio.wait([waiting, asyncio.ensure_future(stopped.wait())],
                       return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
    listener.close()
    if server.poll() is None:
        server.terminate()
    code = await waiting
    return code if code >= 0 else 128 - code


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _recorded_pid(folder: Path) -> int | None:
    try:
        pid = int((folder / PID_FILE).read_text())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None


def _listening(socket_path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(socket_path))
        except OSError:
            return False
    return True


def sweep_killed_gates() -> list[Path]:
    """Remove the socket folders that this user's killed gates left (a SIGKILL skips the
    gate's own removal); those of running gates stay. The folders removed."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(FOLDER_PREFIX + "*"):
        try:
            info = folder.lstat()
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            pid = _recorded_pid(folder)
            if pid is not None:
                stale = not _alive(pid)
            else:  # killed before it wrote its PID, or started by an earlier version
                old = time.time() - info.st_mtime > _PIDLESS_AGE
                stale = old and not _listening(folder / "rest.sock")
        except OSError:
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    fronting = len(argv) == 1 and argv[0].isdigit()  # a server started elsewhere (compose)
    if not fronting and (len(argv) < 3 or argv[1] != "--"):
        print("usage: python -m playground.stack.catalog_gate PORT -- JAVA ARGS... "
              f"(or PORT alone, with {SOCKET_VARIABLE} set)", file=sys.stderr)  # fmt: skip
        return 2
    token = os.environ.get(TOKEN_VARIABLE, "")
    if not token:
        print(f"{TOKEN_VARIABLE} is not set: refusing to serve without a token", file=sys.stderr)
        return 2
    if fronting:  # only there: the local stack's gate stays on 127.0.0.1 whatever is set
        host = os.environ.get(HOST_VARIABLE) or "127.0.0.1"
        if not os.environ.get(SOCKET_VARIABLE):
            print(f"{SOCKET_VARIABLE} is not set: name the server's unix socket", file=sys.stderr)
            return 2
        socket_path = Path(os.environ[SOCKET_VARIABLE])
        return asyncio.run(serve(int(argv[0]), token, socket_path, None, host))
    sweep_killed_gates()
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))  # 0700, short enough for a socket
    (folder / PID_FILE).write_text(str(os.getpid()))
    socket_path = folder / "rest.sock"
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE}
    env[SOCKET_VARIABLE] = str(socket_path)
    try:
        server = subprocess.Popen(argv[2:], env=env)
        return asyncio.run(serve(int(argv[0]), token, socket_path, server))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
