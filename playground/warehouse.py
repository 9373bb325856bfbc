"""The DuckDB warehouse file `<data dir>/playground.duckdb`: who may write it, who holds it."""

from __future__ import annotations

from pathlib import Path

import duckdb


class WarehouseLocked(RuntimeError):
    """Another process holds the warehouse file open for writing; the message names it."""


def check_writable(path: Path) -> None:
    """Raise `WarehouseLocked` naming the holder if another process has `path` open.

    DuckDB allows one writing process per file (or many read-only ones, but not both). dbt needs
    to write, so a notebook or BI tool holding the file open would make it fail halfway.
    """
    if not path.exists():
        return
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" not in text.lower():
            raise
        raise WarehouseLocked(
            f"the warehouse {path} is open in another process, so dbt cannot write it "
            f"({text.strip().splitlines()[0]}). Close that notebook or tool (or stop the process "
            "named above), or open the warehouse with read_only=True there, and run again."
        ) from None
