"""Forward TCP connections on 127.0.0.1:PORT to another loopback port (the embedded PostgreSQL's).

The embedded server listens on a free loopback port of its own, a new one at each start; the local
stack serves it on the port the stack settings name (5432, like the compose stack). The forwarder
reads the server's current port from its data directory at each connection, so it follows a
`playground services stop` and `start` without being restarted. The target is the server's TCP port,
never its unix socket: over TCP the server asks every role for its password (scram-sha-256),
while a connection arriving on the socket would be trusted. Every accepted connection gets its own
connection to the target and two threads copying bytes both ways, so the real server answers
everything (authentication included).
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path

from playground.services import pgserver


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        target = self.server.target()  # type: ignore[attr-defined]
        if target is None:  # the server is stopped: the client sees the connection closed
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", target), timeout=10)
        except OSError:
            return
        upstream.settimeout(None)
        back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
        back.start()
        _pump(self.request, upstream)
        back.join()
        upstream.close()


class TcpForwarder(socketserver.ThreadingTCPServer):
    """`with TcpForwarder(target) as proxy:` serves 127.0.0.1:`proxy.port` until the block ends;
    `target` is a port, or a function giving the port at each connection (None: refuse)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: int | Callable[[], int | None], port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.target = target if callable(target) else (lambda: target)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> TcpForwarder:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


def server_port(pgdata: Path) -> int | None:
    """The loopback port of the PostgreSQL server running on `pgdata`, or None."""
    found = pgserver.find(pgdata)
    return found.port if isinstance(found, pgserver.Postmaster) and found.ready else None


def main(argv: list[str] | None = None) -> None:
    """`python -m playground.stack.tcp_proxy PGDATA PORT`: serve until terminated."""
    args = argparse.ArgumentParser(description=main.__doc__)
    args.add_argument("pgdata", type=Path)
    args.add_argument("port", type=int)
    parsed = args.parse_args(argv)
    proxy = TcpForwarder(lambda: server_port(parsed.pgdata), parsed.port)
    print(f"forwarding 127.0.0.1:{proxy.port} to the server of {parsed.pgdata}", flush=True)
    proxy.serve_forever()


if __name__ == "__main__":
    main()
