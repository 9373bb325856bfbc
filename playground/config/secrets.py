"""Per-install secrets: generated once per data directory, stored owner-only, never printed.

Every key and password the playground would otherwise ship as a default (Superset's SECRET_KEY,
Trino's spooling key, the stack's PostgreSQL and S3 passwords, the BI admins' passwords) is made
here with the `secrets` module of the standard library the first time settings are read for a
data directory, and kept in `<data dir>/secrets.env` (mode 0600). A value set in the environment
or in `.env` wins. `playground secrets` copies them into `.env`, where the compose stack reads
them (it refuses to start without them).
"""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path
from urllib.parse import quote

from dotenv import dotenv_values

from playground.config.files import exclusive, write_private

FILE_NAME = "secrets.env"
LOCK_NAME = ".secrets.lock"


def _token() -> str:
    return secrets.token_urlsafe(24)


def _aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()  # Trino: a base64 256-bit key


# setting (Settings field) -> how to make a value
GENERATED = {
    "pg_password": _token,
    "pg_reader_password": _token,
    "catalog_token": _token,
    "s3_secret_key": _token,
    "trino_spooling_key": _aes_key,
    "trino_internal_secret": _token,
    "superset_secret_key": lambda: secrets.token_urlsafe(48),
    "superset_admin_password": _token,
    "metabase_admin_password": _token,
}


# Settings fields that hold a secret: the generated ones and those only a learner sets
SECRET_FIELDS = (*GENERATED, "trino_password", "snowflake_password")
HIDDEN = "***"
# a URL's password (scheme://user:password@host) and a connection string's (password=...)
_URL_PASSWORD = re.compile(r"(\b[a-z][\w+.-]*://[^\s:/@]*):[^\s@]*@", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.IGNORECASE)


def scrub(text: str, settings: object | None = None) -> str:
    """`text` (an error message, a log line) with every password and key taken out: those in
    URLs and `password=` connection strings, and each secret value `settings` holds."""
    text = _URL_PASSWORD.sub(rf"\1:{HIDDEN}@", text)
    text = _KEYWORD_PASSWORD.sub(rf"\1{HIDDEN}", text)
    values = {str(getattr(settings, field, "") or "") for field in SECRET_FIELDS}
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= 6:  # a short value would take ordinary words out with it
            text = text.replace(value, HIDDEN)
            text = text.replace(quote(value, safe=""), HIDDEN)
    return text


def variable(field: str) -> str:
    return f"PLAYGROUND_{field.upper()}"


def path(data_dir: Path) -> Path:
    return data_dir / FILE_NAME


def _stored(file: Path) -> dict[str, str]:
    stored = {k: v for k, v in dotenv_values(file).items() if v} if file.is_file() else {}
    return {field: stored.get(variable(field), "") for field in GENERATED}


def load(data_dir: Path) -> dict[str, str]:
    """This data directory's secrets by Settings field, generating (once) any that is missing.

    Generation happens under a lock, reading the file again inside it: processes started at
    the same moment on a new data directory all get the secrets the first one wrote.
    """
    file = path(data_dir)
    values = _stored(file)
    if all(values.values()):
        return values
    with exclusive(data_dir / LOCK_NAME):
        values = _stored(file)  # another process may have written them meanwhile
        missing = [field for field, value in values.items() if not value]
        if missing:
            values.update({field: GENERATED[field]() for field in missing})
            lines = [f"{variable(field)}={value}" for field, value in values.items()]
            write_private(file, "# generated once for this data directory; keep it private\n"
                   + "\n".join(lines) + "\n")  # fmt: skip
    return values


def write_env(env_file: Path, values: dict[str, str], example: Path) -> list[str]:
    """Put the secrets into `env_file` (made from `example` if missing) where it has none.

    A secret already set there is kept. Returns the variables written (names only).
    """
    lines = (env_file if env_file.is_file() else example).read_text().splitlines()
    written, seen = [], set()
    for index, line in enumerate(lines):
        key, sep, value = line.partition("=")
        field = key.strip().removeprefix("PLAYGROUND_").lower()
        if sep and not line.lstrip().startswith("#") and field in values:
            seen.add(field)
            if not value.strip():
                lines[index] = f"{key.strip()}={values[field]}"
                written.append(key.strip())
    for field in values:
        if field not in seen:
            lines.append(f"{variable(field)}={values[field]}")
            written.append(variable(field))
    if written:
        write_private(env_file, "\n".join(lines) + "\n")
    return written
