"""Register Trino as Superset's "Lakehouse (Trino)" database, from the environment (init.py calls
this in Superset's Python, and `playground bi` runs it alone when only Trino's URI changed; nothing
here is on a command line, which `ps` shows to everyone).

    TRINO_URI       the SQLAlchemy URI, e.g. trino://playground@trino:8443/iceberg; it may carry
                    the password itself (`playground bi` passes it so)
    TRINO_PASSWORD  the password, when the URI has none (the compose stack passes it from .env);
                    quoted into the URI here. One Superset 6.1 cannot send (with `%`, or beyond
                    Latin-1) is refused in one line before anything is registered.
    TRINO_EXTRA     the database's `extra` JSON: HTTPS and the certificate to verify Trino against
"""

from __future__ import annotations

import os
import sys
from urllib.parse import quote


def uri(environ: dict[str, str]) -> str:
    """TRINO_URI with TRINO_PASSWORD set into it, when one is given, every character quoted (as
    `playground bi` quotes its own; SQLAlchemy 1.4's URL.set leaves `%` unquoted, so a password
    holding `%41` would come back as `A`)."""
    if not environ.get("TRINO_PASSWORD"):
        return environ["TRINO_URI"]
    scheme, _, rest = environ["TRINO_URI"].partition("://")
    user, _, address = rest.rpartition("@")
    user = user.partition(":")[0]  # a password the URI held gives way to TRINO_PASSWORD
    return f"{scheme}://{user}:{quote(environ['TRINO_PASSWORD'], safe='')}@{address}"


def unusable(password: str) -> str:
    """Why Superset 6.1 cannot log in to Trino with `password`, or "" when it can (measured):
    it renders its stored URI again with SQLAlchemy 1.4, which leaves `%` unquoted, and the
    trino client sends Basic credentials in Latin-1."""
    if "%" in password:
        return "holds '%'"
    try:
        password.encode("latin-1")
    except UnicodeEncodeError:
        return "holds a character outside Latin-1"
    return ""


def main(app=None) -> None:
    """Register Trino on `app` (Superset's, when the caller has it), else on a new one."""
    from sqlalchemy.engine import make_url

    registered = uri(dict(os.environ))
    why = unusable(make_url(registered).password or "")
    if why:
        sys.exit(f"Superset cannot use this Trino password (it {why}): set another "
                 "PLAYGROUND_TRINO_PASSWORD in .env, then run `make secrets` again.")  # fmt: skip

    if app is None:
        from superset.app import create_app

        app = create_app()
    with app.app_context():
        from superset.extensions import db
        from superset.utils.database import get_or_create_db

        # creates the entry, or updates its URI (a changed password, another address)
        database = get_or_create_db("Lakehouse (Trino)", registered)
        if os.environ.get("TRINO_EXTRA"):
            database.extra = os.environ["TRINO_EXTRA"]
            db.session.commit()


if __name__ == "__main__":
    main()
