"""pagila's tables, primary keys and foreign keys, read from `constraints.sql` (one source)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Load order: every table after the tables it references (store and staff reference each other).
TABLES = (
    "language", "category", "country", "city", "address", "actor", "film", "film_actor",
    "film_category", "store", "staff", "customer", "inventory", "rental", "payment",
)  # fmt: skip
# The fact tables, partitioned by month of these columns in the lakehouse.
PARTITION_COLUMNS = {"rental": "rental_date", "payment": "payment_date"}
_PRIMARY = re.compile(r"ALTER TABLE (\w+) ADD CONSTRAINT \w+ PRIMARY KEY \(([^)]+)\)")
_FOREIGN = re.compile(
    r"ALTER TABLE (\w+) ADD CONSTRAINT \w+ FOREIGN KEY \((\w+)\)\s+REFERENCES (\w+) \((\w+)\)"
)


@dataclass(frozen=True)
class ForeignKey:
    table: str
    column: str
    parent: str
    parent_column: str


def _constraints_sql() -> str:
    return (
        resources.files("playground.datasets.pagila").joinpath("constraints.sql").read_text("utf-8")
    )


@cache
def primary_keys() -> dict[str, tuple[str, ...]]:
    """Table → its primary-key columns."""
    return {
        table: tuple(c.strip() for c in columns.split(","))
        for table, columns in _PRIMARY.findall(_constraints_sql())
    }


@cache
def foreign_keys() -> dict[str, tuple[ForeignKey, ...]]:
    """Table → the foreign keys it holds (possibly none)."""
    found: dict[str, list[ForeignKey]] = {table: [] for table in TABLES}
    for table, column, parent, parent_column in _FOREIGN.findall(_constraints_sql()):
        found[table].append(ForeignKey(table, column, parent, parent_column))
    return {table: tuple(keys) for table, keys in found.items()}
