#!/bin/sh
# One-shot init of the superset-init service; safe to run again on every `docker compose up`.
set -eu

superset db upgrade
if superset fab list-users | grep -q "username:${SUPERSET_ADMIN_USER} "; then
    echo "admin ${SUPERSET_ADMIN_USER} exists"
else
    superset fab create-admin --username "${SUPERSET_ADMIN_USER}" --firstname Playground \
        --lastname Admin --email "${SUPERSET_ADMIN_USER}@example.com" \
        --password "${SUPERSET_ADMIN_PASSWORD}"
fi
superset init
# set-database-uri creates the database entry or updates its URI
superset set-database-uri --database_name "Lakehouse (Trino)" \
    --uri "trino://${TRINO_USER}@trino:8080/iceberg"
superset set-database-uri --database_name "Warehouse (DuckDB)" \
    --uri "duckdb:////warehouse/playground.duckdb?access_mode=read_only"
