"""Trino's login on the local stack: HTTPS with this install's certificate, and a password file.

Trino asks for a password only over HTTPS (its password file authenticator requires TLS and an
internal shared secret). So the first `stack up` of a data directory makes, once:

- a self-signed certificate for `127.0.0.1` and `localhost` (RSA 2048, ten years) and its key,
  in one PEM file Trino reads (`http-server.https.keystore.path`), and the certificate alone,
  which every client verifies the server against (never `verify=False`);
- a password for `PLAYGROUND_TRINO_USER`, kept in clear in the login file clients read, and in
  Trino's password file as PBKDF2 (Trino 476 checks `iterations:salt:hash`, HMAC-SHA1, the
  format its docs give; bcrypt would need a library this project does not otherwise use).

All of it lives in `<data dir>/stack/trino-tls/`, mode 0600 files in a 0700 folder. The login file
(`engines.trino.LOGIN_FILE`) also names the port the HTTPS server listens on: a client of these
settings uses the login only for that port. `playground secrets` makes the same files for the
compose stack's Trino, which reads the key and the password file (docs/security.md). Trino's
plain HTTP port stays for its internal traffic: with a password authenticator set, Trino
refuses a client's query there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from playground.config.files import write_private
from playground.config.settings import Settings
from playground.engines.trino import login_file

ITERATIONS = 100_000  # Trino's minimum is 1,000; it caches a checked password


@dataclass(frozen=True)
class Login:
    user: str
    password: str
    certificate: Path  # the server's certificate: what clients trust
    keystore: Path  # key and certificate, for Trino
    password_file: Path  # user:iterations:salt:hash, for Trino


def folder(settings: Settings) -> Path:
    return settings.data_dir / "stack" / "trino-tls"


def _certificate(keystore: Path, certificate: Path) -> None:
    from cryptography import x509  # lazy: only `stack up` makes one
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "playground local Trino")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.DNSName("trino"),  # the compose stack's coordinator, as its BI sees it
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                key_cert_sign=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    write_private(keystore, private + pem)
    write_private(certificate, pem)


def hashed(password: str, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """`iterations:salt:hash`, a PBKDF2 entry of Trino's password file (HMAC-SHA1, 512 bits)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations, dklen=64)
    return f"{iterations}:{salt.hex()}:{digest.hex()}"


def ensure(settings: Settings, port: int) -> Login:
    """This data directory's Trino login, made the first time; its login file names `port`."""
    tls = folder(settings)
    tls.mkdir(parents=True, exist_ok=True)
    tls.chmod(0o700)
    login = Login(settings.trino_user, "", tls / "certificate.pem", tls / "keystore.pem",
                  tls / "password.db")  # fmt: skip
    if not (login.keystore.is_file() and login.certificate.is_file()):
        _certificate(login.keystore, login.certificate)
    file = login_file(settings)
    try:
        known = json.loads(file.read_text())
        password = known["password"] if known.get("user") == login.user else ""
    except (OSError, ValueError, KeyError, TypeError):
        password = ""
    # a password the settings give (PLAYGROUND_TRINO_PASSWORD, which `playground secrets` writes
    # into .env for the compose stack's BI services) wins, so the password file agrees with it
    password = settings.trino_password or password or secrets.token_urlsafe(24)
    write_private(login.password_file, f"{login.user}:{hashed(password)}\n")
    record = {"user": login.user, "password": password, "port": port,
              "certificate": str(login.certificate)}  # fmt: skip
    write_private(file, json.dumps(record))
    return Login(login.user, password, login.certificate, login.keystore, login.password_file)


def shared_secret() -> str:
    """Trino's internal shared secret (required with authentication): new at each start."""
    return secrets.token_urlsafe(32)
