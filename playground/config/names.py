"""Checks for names that end up in SQL or in catalog identifiers (no heavy imports here)."""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_identifier(identifier: str) -> tuple[str, str]:
    """Split `namespace.table`, accepting only lower-case SQL-safe names (one namespace level)."""
    parts = identifier.split(".")
    if len(parts) != 2 or not all(IDENTIFIER.match(p) for p in parts):
        raise ValueError(
            f"{identifier!r} is not a valid table identifier: use namespace.table, each part "
            "lower-case letters, digits and underscores, starting with a letter or underscore, "
            "at most 63 characters (PostgreSQL's and Trino's limit)."
        )
    return parts[0], parts[1]


def quote(name: str) -> str:
    """A SQL identifier, double-quoted (quotes inside doubled): safe for any column name."""
    return '"' + name.replace('"', '""') + '"'
