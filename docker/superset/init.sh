#!/bin/sh
# Superset's one-time set-up, safe to run again: the compose stack's superset-init service runs it
# on every `docker compose up`, and `playground bi start` runs it without Docker (with its own
# paths in DASHBOARDS_DIR, WAREHOUSE_URI and TRINO_URI; TRINO_URI empty when Trino is not running).
set -eu

superset db upgrade
# The password goes to the prompt on stdin, never on a command line (which `ps` shows to every
# user of the machine); the caller runs this without a terminal, so the prompt reads stdin.
password_twice() { printf '%s\n%s\n' "${SUPERSET_ADMIN_PASSWORD}" "${SUPERSET_ADMIN_PASSWORD}"; }
if superset fab list-users | grep -q "username:${SUPERSET_ADMIN_USER} "; then
    # the password in the environment is the one that works, also after it was changed
    password_twice | superset fab reset-password --username "${SUPERSET_ADMIN_USER}" >/dev/null
    echo "admin ${SUPERSET_ADMIN_USER} exists (password set from the environment)"
else
    password_twice | superset fab create-admin --username "${SUPERSET_ADMIN_USER}" \
        --firstname Playground --lastname Admin --email "${SUPERSET_ADMIN_USER}@example.com" \
        >/dev/null
fi
superset init

# Dashboards as code: the pagila dashboard, its charts and datasets, and the warehouse database
# they read, as Superset's own export files (docker/superset/dashboards/pagila). An import keeps
# what exists and adds what is missing.
bundle_dir="$(mktemp -d)"
(cd "${DASHBOARDS_DIR:-/app/docker/dashboards}" && python -m zipfile -c "$bundle_dir/pagila.zip" pagila)
superset import-dashboards --path "$bundle_dir/pagila.zip" --username "${SUPERSET_ADMIN_USER}"
rm -rf "$bundle_dir"

# set-database-uri creates the database entry or updates its URI (this machine's paths). DuckDB
# opens the warehouse read-only, so a pipeline run can write it while Superset is up.
superset set-database-uri --database_name "Warehouse (DuckDB)" \
    --uri "${WAREHOUSE_URI:-duckdb:////warehouse/playground.duckdb?access_mode=read_only}"
trino_uri="${TRINO_URI-trino://${TRINO_USER}@trino:8080/iceberg}"
if [ -n "$trino_uri" ]; then
    # What set-database-uri does, reading the URI from the environment: it may carry Trino's
    # password (`playground stack up`'s Trino asks for one), which no command line may show.
    # TRINO_EXTRA, when set, gives the connection its HTTPS settings.
    TRINO_URI="$trino_uri" python - <<'PY'
import os

from superset.app import create_app

with create_app().app_context():
    from superset.extensions import db
    from superset.utils.database import get_or_create_db

    database = get_or_create_db("Lakehouse (Trino)", os.environ["TRINO_URI"])
    if os.environ.get("TRINO_EXTRA"):
        database.extra = os.environ["TRINO_EXTRA"]
        db.session.commit()
PY
fi
