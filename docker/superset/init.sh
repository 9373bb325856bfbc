#!/bin/sh
# Superset's one-time set-up, safe to run again: the compose stack's superset-init service runs it
# on every `docker compose up`, and `playground bi start` runs it without Docker (with its own
# paths in DASHBOARDS_DIR, WAREHOUSE_URI and TRINO_URI; TRINO_URI empty when Trino is not running).
# The compose stack passes TRINO_URI, TRINO_PASSWORD and TRINO_EXTRA (HTTPS to trino:8443, its
# certificate mounted read-only); lakehouse.py says what each holds.
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
if [ -n "${TRINO_URI:-}" ]; then
    # What set-database-uri does, reading the URI and the password from the environment
    # (lakehouse.py, beside this script): no command line may show Trino's password.
    python "$(dirname "$0")/lakehouse.py"
fi
