"""Calendar months, the unit of every partition here (no heavy imports).

The time rule: every month boundary, partition value and time filter is a UTC instant, whatever
the machine's, the session's or the database's time zone. Iceberg's `month()` transform is UTC, so
anything else puts an evening's rows in the wrong partition. SQL never carries a bare
`'2022-06-01'` literal (PostgreSQL would read it in the session's zone): it uses `utc_literal`,
and every DuckDB connection runs with `TimeZone = 'UTC'` (`playground.engines.duck.connect`).
"""

from __future__ import annotations

from datetime import date

# The month of the null partition (rows whose partition column is NULL), in folder names and lists.
NULL_MONTH = "null"


def next_month(first: date) -> date:
    """The first day of the month after the one `first` lies in."""
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_bounds(month: str) -> tuple[date, date]:
    """First day of `YYYY-MM` and of the month after it."""
    year, number = map(int, month.split("-"))
    first = date(year, number, 1)
    return first, next_month(first)


def utc_literal(day: date) -> str:
    """A SQL literal for midnight UTC of `day`, right for timestamptz, timestamp and date columns.

    PostgreSQL reads the explicit `+00` offset for a timestamptz and ignores it for the others.
    """
    return f"'{day.isoformat()} 00:00:00+00'"


def months_between(start: date, end: date) -> list[str]:
    """`YYYY-MM` of each month from the one holding `start` up to (not including) `end`."""
    months, month = [], date(start.year, start.month, 1)
    while month < end:
        months.append(month.strftime("%Y-%m"))
        month = next_month(month)
    return months
