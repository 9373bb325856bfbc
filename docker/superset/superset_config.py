"""Superset settings for the playground stack (loaded from /app/pythonpath)."""

import os

# Required: Superset refuses to start without its own secret key. From .env (see .env.example).
SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
# The metadata database: SQLite in the superset-home volume (one user, a playground).
SQLALCHEMY_DATABASE_URI = "sqlite:////app/superset_home/superset.db"
# No sample dashboards; the playground's own data is what matters.
SUPERSET_LOAD_EXAMPLES = False
