"""Superset settings for the playground: the compose service (loaded from /app/pythonpath) and
`playground bi start` (through SUPERSET_CONFIG_PATH) read this same file."""

import os

# Required: Superset refuses to start without its own secret key. From .env (see .env.example).
SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
# The metadata database: SQLite, in the superset-home volume on the stack and under the data
# directory without Docker (one user, a playground).
SQLALCHEMY_DATABASE_URI = os.environ.get(
    "SUPERSET_METADATA_URI", "sqlite:////app/superset_home/superset.db"
)
# No sample dashboards; the playground's own data is what matters.
SUPERSET_LOAD_EXAMPLES = False
