"""Another user of the same machine attacks the running local stack, for real.

The attacks run in a separate process from a stdlib-only script (`ATTACKS`), with none of this
install's secrets:

- **as root** (the suite's own machine): as a second Unix user (`useradd`, then `runuser -u`).
  That proves every assertion below, the data directory's included: the other user has only
  what any local account has, the loopback ports and the file system's permissions.
- **as an ordinary user allowed to act as that account** (CI's `learner`: `.ci/run`, as root,
  makes `playground-other` and lets `learner` run commands as it through `sudo -n -u`, nothing
  more): the same attacks as that second user, the data directory's included.
- **as any other ordinary user**: no second account can be reached, so the script runs as the
  same user with an empty environment, away from the data directory. That proves the servers'
  logins (a process that lacks the secrets is refused), not the file permissions, which do not
  stop one's own user: the data-directory attack is then skipped, saying why.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest

from playground.config import secrets
from playground.services import postgres, processes
from playground.stack import control

OTHER_USER = "playground-other"

ATTACKS = r'''
import json, os, socket, ssl, struct, sys, urllib.error, urllib.request
target = json.loads(sys.argv[1])
results = {}

def http(url, method="GET", body=None, headers=None):
    """(status, first 300 characters) of a request sent with no credentials."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # an attacker trusts all
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as response:
            return response.status, response.read()[:300].decode("utf-8", "replace")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()[:300].decode("utf-8", "replace")
    except OSError as exc:
        return None, repr(exc)[:300]

for name, path in target["rest"].items():
    results["rest " + name] = http(target["catalog"] + path)

for url in (target["trino_url"], target["trino_internal_url"]):
    for name, statement in target["trino"].items():
        results[url + " " + name] = http(url + "/v1/statement", "POST", statement.encode(),
                                         {"X-Trino-User": "playground"})

def postgres_login(user, database):
    """The server's first answer to a startup message: R + 0 is a login without a password."""
    with socket.create_connection(("127.0.0.1", target["pg_port"]), timeout=10) as sock:
        params = b"user\0" + user.encode() + b"\0database\0" + database.encode() + b"\0\0"
        sock.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        kind = sock.recv(1)
        length = struct.unpack("!i", sock.recv(4))[0]
        payload = sock.recv(length - 4)
        if kind == b"R":
            return "auth request %d" % struct.unpack("!i", payload[:4])[0]
        return "answer %r %r" % (kind, payload[:120])

for user in ("postgres", "playground", "playground_reader"):
    results["postgres login " + user] = postgres_login(user, "postgres")

if target.get("data_dir"):
    for name, path in target["data_dir"].items():
        try:
            found = os.listdir(path) if name.endswith("folder") else open(path, "rb").read(20)
            results["read " + name] = "read: %r" % (found[:5],)
        except OSError as exc:
            results["read " + name] = "refused: %s" % exc.strerror
print(json.dumps(results))
'''

# what an attacker would ask Trino, the probe's attacks through its postgresql catalog among them
TRINO = {
    "query": "select 1",
    "customer emails": "select email from postgresql.public.customer",
    "drop a table": "drop table postgresql.public.payment",
    "create a database": "CALL postgresql.system.execute(query => 'create database evil')",
    "alter a role": (
        "CALL postgresql.system.execute(query => 'alter role playground password ''x''')"
    ),
    "iceberg tables": "show schemas from iceberg",
}
# the REST catalog's requests an attacker would send
REST = {
    "config": "/v1/config",
    "namespaces": "/v1/namespaces",
    "tables": "/v1/namespaces/pagila/tables",
}


def _other_user() -> str:
    """A second Unix account (made once, kept for later runs); root only."""
    try:
        pwd.getpwnam(OTHER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        OTHER_USER], check=True, capture_output=True)  # fmt: skip
    return OTHER_USER


def _python_for(user: str | None) -> str:
    """An interpreter the attacker can run: the system's when another user attacks."""
    if user is None:
        return sys.executable
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if Path(candidate).is_file():
            return candidate
    pytest.skip("no system python3 another user could run")


def _switch() -> list[str] | None:
    """The command prefix that runs a program as the second account: `runuser` as root, `sudo -n`
    where this user may act as that account; None when neither can."""
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("runuser is not installed")
        return [runuser, "-u", _other_user(), "--"]
    sudo = shutil.which("sudo")
    if sudo is None:
        return None
    prefix = [sudo, "-n", "-u", OTHER_USER, "--"]
    allowed = subprocess.run([*prefix, "/bin/true"], capture_output=True, timeout=30, check=False)
    return prefix if allowed.returncode == 0 else None


def attack(target: dict) -> tuple[dict, str]:
    """Run ATTACKS as the second account, or as this user without secrets; (results, who)."""
    switch = _switch()
    user = OTHER_USER if switch else None
    python = _python_for(user)
    command = [*(switch or []), python, "-I", "-c", ATTACKS, json.dumps(target)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd="/",
                          env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), user or f"{pwd.getpwuid(os.getuid()).pw_name} without secrets"


def _internal_port(stack) -> int:
    """Trino's plain HTTP port (its own traffic), from the configuration `stack up` rendered."""
    config = stack.data_dir / "stack" / "trino" / "etc" / "config.properties"
    (line,) = [x for x in config.read_text().splitlines() if x.startswith("http-server.http.port")]
    return int(line.partition("=")[2])


def _target(stack) -> dict:
    target = {
        "catalog": stack.catalog_uri,
        "rest": REST,
        "trino_url": f"https://127.0.0.1:{stack.trino_port}",
        "trino_internal_url": f"http://127.0.0.1:{_internal_port(stack)}",
        "trino": TRINO,
        "pg_port": stack.pg_port,
    }
    if _switch():  # another account: the file system's permissions are on trial too
        target["data_dir"] = {
            "data folder": str(stack.data_dir),
            "secrets file": str(secrets.path(stack.data_dir)),
            "stack folder": str(stack.data_dir / "stack"),
            "pgdata folder": str(stack.pgdata),
        }
    return target


def assert_trino_refused(results: dict, target: dict, who: str) -> None:
    """Every Trino attack got no query through, on the client port and on the plain one."""
    for name in TRINO:
        status, body = results[f"{target['trino_url']} {name}"]
        assert status == 401 and "nextUri" not in body, (who, name, status, body)
        # the plain port serves Trino's own traffic; a client's query is refused there
        status, body = results[f"{target['trino_internal_url']} {name}"]
        assert status in (401, 403) and "nextUri" not in body, (who, name, status, body)


def assert_catalog_and_postgres_refused(results: dict, who: str) -> None:
    """The catalog gate answered 401 to each request; PostgreSQL asked each role for a password."""
    for name in REST:
        status, body = results[f"rest {name}"]
        assert status == 401 and "NotAuthorized" in body, (who, name, status, body)
    for user in ("postgres", "playground", "playground_reader"):
        # 10: SASL (scram-sha-256) asked for; 0 would be a login without a password
        assert results[f"postgres login {user}"] == "auth request 10", (who, user, results)


@pytest.fixture
def local_stack(trino_stack):
    if not control.recorded(trino_stack):
        pytest.skip("the compose stack answers here: its processes are Docker's")
    return trino_stack


@pytest.fixture
def attacked(local_stack):
    return attack(_target(local_stack))


@pytest.mark.stack
def test_another_user_is_refused_by_trino_on_both_its_ports(local_stack, attacked) -> None:
    results, who = attacked
    assert_trino_refused(results, _target(local_stack), who)


@pytest.mark.stack
def test_another_user_is_refused_by_the_catalog_postgres_and_the_files(
    local_stack, attacked
) -> None:
    results, who = attacked
    assert_catalog_and_postgres_refused(results, who)
    if who != OTHER_USER:
        pytest.skip(f"as {who} the data directory is one's own: its permissions are tested as "
                    f"{OTHER_USER} (as root, or where sudo lets this user act as it)")  # fmt: skip
    for name in ("data folder", "secrets file", "stack folder", "pgdata folder"):
        assert results[f"read {name}"] == "refused: Permission denied", (who, name, results)


@pytest.mark.stack
def test_no_secret_is_on_a_command_line_of_the_stack(local_stack) -> None:
    """`ps -eo args` shows every user each process's command line."""
    leaders = [processes.running(control._state(local_stack, s))["pid"] for s in control.SERVICES]
    leaders.append(postgres.running(replace(local_stack, mode="embedded")).pid)
    family = {psutil.Process(pid) for pid in leaders}
    for process in list(family):
        family |= set(process.children(recursive=True))
    shown = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True).stdout
    lines = [line for line in shown.splitlines()[1:] if int(line.split()[0]) in
             {p.pid for p in family}]  # fmt: skip
    listed = {int(line.split()[0]) for line in lines}
    # PostgreSQL's autovacuum workers and backends come and go; a missing one must be gone.
    assert all(p.pid in listed or not p.is_running() for p in family), (family, lines)
    assert set(leaders) <= listed and len(lines) >= 6  # forwarder, versitygw, gate + Java, …
    values = {field: getattr(local_stack, field) for field in secrets.GENERATED}
    leaked = {field for field, value in values.items() if any(value in line for line in lines)}
    assert leaked == set(), leaked
    assert any(urlsplit(local_stack.catalog_uri).port and "catalog_gate" in line
               for line in lines)  # fmt: skip
