"""Forward TCP connections on 127.0.0.1 to a unix socket (the embedded PostgreSQL's).

The embedded server listens only on a unix socket; Java clients such as Trino's JDBC catalogs need
TCP. Every accepted connection gets its own connection to the socket and two threads copying bytes
both ways, so the real server answers everything (authentication included).
"""

from __future__ import annotations

import socket
import socketserver
import threading


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
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(self.server.unix_path)  # type: ignore[attr-defined]
        except OSError:
            upstream.close()
            return
        back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
        back.start()
        _pump(self.request, upstream)
        back.join()
        upstream.close()


class TcpToUnix(socketserver.ThreadingTCPServer):
    """`with TcpToUnix(path) as proxy:` serves 127.0.0.1:`proxy.port` until the block ends."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, unix_path: str, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.unix_path = unix_path
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> TcpToUnix:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()


def main(argv: list[str] | None = None) -> None:
    """`python -m playground.tcp_proxy SOCKET PORT`: serve until terminated (`playground stack`)."""
    import argparse

    args = argparse.ArgumentParser(description=main.__doc__)
    args.add_argument("socket")
    args.add_argument("port", type=int)
    parsed = args.parse_args(argv)
    proxy = TcpToUnix(parsed.socket, parsed.port)
    print(f"forwarding 127.0.0.1:{proxy.port} to {parsed.socket}", flush=True)
    proxy.serve_forever()


if __name__ == "__main__":
    main()
