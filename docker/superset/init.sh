#!/bin/sh
# Superset's one-time set-up, safe to run again: the compose stack's superset-init service runs it
# on every `docker compose up`, and `playground bi start` runs it without Docker. The steps are in
# init.py, beside this script (one process for all of Superset's commands); lakehouse.py, beside
# it too, says what TRINO_URI, TRINO_PASSWORD and TRINO_EXTRA hold.
set -eu
exec python "$(dirname "$0")/init.py"
