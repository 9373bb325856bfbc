"""The REST catalog's gate, run as `stack up` runs it: `python -m playground.stack.catalog_gate`.

The server behind it here is a test double, said so: a few lines of Python answering HTTP on the
unix socket the gate names (REST_SOCKET), standing in for the Java server. It checks the gate
itself: which connections reach the socket. The real server behind it is tested with the
suite's stack (tests/stack/test_another_user.py, tests/stack/test_rest_catalog.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

from playground.services import processes
from playground.stack import catalog_gate
from tests.helpers import free_port

# The stand-in for the Java server: answers every GET with the headers it was sent
DOUBLE = """
import http.server, json, os, socketserver
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def address_string(self): return "unix"
class Server(socketserver.UnixStreamServer):
    def get_request(self):
        request, _ = super().get_request(); return request, ("unix", 0)
Server(os.environ["REST_SOCKET"], Handler).serve_forever()
"""


@pytest.fixture
def gate(tmp_path):
    port, token = free_port(), "a-token-of-this-install"
    env = {**os.environ, catalog_gate.TOKEN_VARIABLE: token}
    process = processes.spawn(
        [sys.executable, "-m", "playground.stack.catalog_gate", str(port), "--",
         sys.executable, "-c", DOUBLE],
        tmp_path / "gate.log", env,
    )  # fmt: skip
    yield f"http://127.0.0.1:{port}", token, process
    processes.stop(process.pid)


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def _wait(url: str, token: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            _get(url, token)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_only_requests_with_the_token_reach_the_server(gate) -> None:
    uri, token, _ = gate
    _wait(f"{uri}/v1/config", token)
    assert _get(f"{uri}/v1/namespaces", token) == (
        200, {"path": "/v1/namespaces", "auth": f"Bearer {token}"},
    )  # fmt: skip
    for wrong in (None, "", token[:-1], token + "x", token.upper()):
        status, body = _get(f"{uri}/v1/namespaces", wrong)
        assert (status, body["error"]["type"]) == (401, "NotAuthorized"), wrong
    basic = urllib.request.Request(f"{uri}/v1/config", headers={"Authorization": f"Basic {token}"})
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(basic, timeout=5)


def test_the_token_is_on_no_command_line_and_the_socket_is_private(gate) -> None:
    uri, token, process = gate
    _wait(f"{uri}/v1/config", token)
    family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    assert len(family) == 2  # the gate and the server it started
    assert not [p.pid for p in family if token in " ".join(p.cmdline())]
    server_env = family[1].environ()
    assert catalog_gate.TOKEN_VARIABLE not in server_env  # the server never holds the token
    socket = server_env[catalog_gate.SOCKET_VARIABLE]
    assert oct(os.stat(os.path.dirname(socket)).st_mode & 0o777) == "0o700"
    processes.stop(process.pid)  # the group: gate and server; the socket's folder goes too
    assert not any(p.is_running() for p in family)
    assert not os.path.exists(os.path.dirname(socket))


def test_the_gate_exits_when_its_server_does(gate) -> None:
    uri, token, process = gate
    _wait(f"{uri}/v1/config", token)
    (server,) = psutil.Process(process.pid).children()
    server.kill()
    assert process.wait(10) == 128 + 9  # the server's end, as a shell reports a SIGKILL


def _socket_folder(process) -> str:
    (server,) = psutil.Process(process.pid).children()
    return os.path.dirname(server.environ()[catalog_gate.SOCKET_VARIABLE])


def _start_gate(tmp_path, name: str):
    env = {**os.environ, catalog_gate.TOKEN_VARIABLE: "a-token-of-this-install"}
    port = free_port()
    process = processes.spawn(
        [sys.executable, "-m", "playground.stack.catalog_gate", str(port), "--",
         sys.executable, "-c", DOUBLE],
        tmp_path / f"{name}.log", env,
    )  # fmt: skip
    _wait(f"http://127.0.0.1:{port}/v1/config", "a-token-of-this-install")
    return process


def test_a_killed_gates_folder_is_removed_by_the_next_gate_and_a_running_ones_kept(tmp_path):
    killed, running = _start_gate(tmp_path, "killed"), _start_gate(tmp_path, "running")
    try:
        killed_folder, running_folder = _socket_folder(killed), _socket_folder(running)
        os.killpg(killed.pid, signal.SIGKILL)  # gate and server: no chance to clean up
        killed.wait(10)
        assert os.path.isdir(killed_folder)
        nxt = _start_gate(tmp_path, "next")
        try:
            assert not os.path.exists(killed_folder)
            assert os.path.isdir(running_folder) and os.path.isdir(_socket_folder(nxt))
        finally:
            processes.stop(nxt.pid)
    finally:
        processes.stop(running.pid)
        processes.stop(killed.pid)
    assert not os.path.exists(running_folder)


def test_the_gate_refuses_to_start_without_a_token(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != catalog_gate.TOKEN_VARIABLE}
    done = subprocess.run(
        [sys.executable, "-m", "playground.stack.catalog_gate", str(free_port()), "--", "true"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "CATALOG_TOKEN is not set" in done.stderr


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"GET / HTTP/1.1\r\nAuthorization: Bearer t0k\r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nauthorization:   bearer t0k  \r\n\r\n", True),
        (b"GET / HTTP/1.1\r\nAuthorization: Bearer t0k2\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nX-Authorization: Bearer t0k\r\n\r\n", False),
        (b"GET /?Authorization: Bearer t0k HTTP/1.1\r\n\r\n", False),  # not a header
        (b"GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n", False),
    ],
)
def test_authorized_reads_only_the_authorization_header(head, expected) -> None:
    assert catalog_gate.authorized(head, "t0k") is expected
