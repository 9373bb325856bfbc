"""Calendar months, the unit of every partition here (no heavy imports)."""

from __future__ import annotations

from datetime import date


def next_month(first: date) -> date:
    """The first day of the month after the one `first` lies in."""
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_bounds(month: str) -> tuple[date, date]:
    """First day of `YYYY-MM` and of the month after it."""
    year, number = map(int, month.split("-"))
    first = date(year, number, 1)
    return first, next_month(first)


def months_between(start: date, end: date) -> list[str]:
    """`YYYY-MM` of each month from the one holding `start` up to (not including) `end`."""
    months, month = [], date(start.year, start.month, 1)
    while month < end:
        months.append(month.strftime("%Y-%m"))
        month = next_month(month)
    return months
