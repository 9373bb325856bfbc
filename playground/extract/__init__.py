"""PostgreSQL → Iceberg extraction: `extract()` (in `api`) reads with one of four backends
(`readers`), stages Parquet files (`sink`) and commits them in one snapshot (`commit`).

`from playground import extract` gives `extract.extract()` and its errors and constants.
"""

from playground.extract.api import (
    DEFAULT_BATCH_ROWS,
    DEFAULT_METHOD,
    METHODS,
    MODES,
    ExtractError,
    Result,
    extract,
)

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_METHOD",
    "METHODS",
    "MODES",
    "ExtractError",
    "Result",
    "extract",
]
