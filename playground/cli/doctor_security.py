"""`playground doctor`'s lines for what the playground keeps private (README: Security)."""

from __future__ import annotations

import stat

from playground.config import secrets
from playground.config.files import private_dir_mode
from playground.config.settings import Settings
from playground.services import postgres

# Keys every install shared before they were generated per data directory: a `.env` copied from
# an older `.env.example` may still carry them.
SHARED_BEFORE = {
    "superset_secret_key": "local-playground-superset-secret-change-me-anywhere-shared",
    "trino_spooling_key": "6/aIa7xDQpEcNksLslbbek/zeHiZiyW9T4WunTJVpMo=",
}


def private_data_dir(settings: Settings) -> tuple[bool, str, str]:
    """(ok, detail, fix) for the data directory's mode."""
    wanted = private_dir_mode()
    mode = stat.S_IMODE(settings.data_dir.stat().st_mode)
    detail = f"{settings.data_dir} is {mode:o}"
    return mode == wanted, detail, f"chmod {wanted:o} '{settings.data_dir}'"


def install_secrets(settings: Settings) -> tuple[bool, str, str]:
    """(ok, detail, fix): generated per data directory, owner-only, none of the old shared keys."""
    file = secrets.path(settings.data_dir)
    shared = [secrets.variable(f) for f, v in SHARED_BEFORE.items() if getattr(settings, f) == v]
    if shared:
        return (False, f"{', '.join(shared)} is the value every install shared",
                "delete that line from .env (one is generated), then `make secrets`")  # fmt: skip
    if not file.is_file():
        return False, f"{file} is missing", "run any `playground` command: it makes them"
    mode = stat.S_IMODE(file.stat().st_mode)
    if mode != 0o600:
        return False, f"{file} is {mode:o}, readable by others", f"chmod 600 '{file}'"
    return True, f"generated for this data directory in {file} (0600; values not shown)", ""


def postgres_logins(settings: Settings) -> tuple[bool, str, str]:
    """(ok, detail, fix): the embedded server trusts its socket only and listens on loopback."""
    server = postgres.running(settings)
    if settings.is_stack or server is None:
        return True, "embedded PostgreSQL not running (checked at its next start)", ""
    hba = (settings.pgdata / "pg_hba.conf").read_text().splitlines()
    trusted_tcp = [line for line in hba if line.lstrip().startswith("host") and "trust" in line]
    with postgres.connect("postgres", settings) as conn:
        (listen,) = conn.execute("select current_setting('listen_addresses')").fetchone()
    if trusted_tcp or listen not in ("", "127.0.0.1", "localhost"):
        restart = "`playground services stop`, then `playground services start` (fixes both)"
        return False, f"listens on {listen!r}, trusts TCP: {len(trusted_tcp)} line(s)", restart
    return True, f"trust on the unix socket only; {listen}:{server.port} asks for passwords", ""
