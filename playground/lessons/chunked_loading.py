"""Lesson 01's exercises, checked against the peak memory the OS measured for each run."""

from __future__ import annotations

from playground.lessons.exercises import Exercise


def _growth_per_method(growth) -> dict[str, float]:
    """MB each method's peak rose from the smaller table to the larger one."""
    small, large = growth["rows"].min(), growth["rows"].max()
    peak = growth.set_index(["method", "rows"])["peak_rss_mb"]
    return {m: peak[m, large] - peak[m, small] for m in growth["method"].unique()}


def check_grows(answer: str, growth) -> str | None:
    """Which method's memory grows with the table: the one the measurements say."""
    rises = _growth_per_method(growth)
    grows = max(rises, key=rises.get)
    if answer == grows:
        return None
    rise = rises.get(answer)
    if rise is None:
        return f"{answer!r} was not measured here: pick one of {', '.join(sorted(rises))}"
    return f"{answer}'s peak rose by {rise:.0f} MB between the two sizes; another rose more"


def _bytes_per_row(growth) -> float:
    rises = _growth_per_method(growth)
    extra_rows = growth["rows"].max() - growth["rows"].min()
    return rises["pandas-concat"] * 2**20 / extra_rows


def check_bytes_per_row(answer: float, growth) -> str | None:
    """About how many bytes pandas-concat holds per row (within a quarter of the measurement)."""
    measured = _bytes_per_row(growth)
    if abs(answer - measured) <= measured / 4:
        return None
    return (
        f"{answer:,.0f} bytes a row; the measurements say about {measured:,.0f}: divide the rise "
        "in peak memory (MB × 2**20) by the rows added"
    )


GROWS = Exercise(
    "01.1", "Whose memory grows with the table?", check_grows, "pandas-concat", "pandas-chunks",
    "pandas-concat: `pd.concat` needs every chunk at once, then copies them into one frame.",
)  # fmt: skip
PER_ROW = Exercise(
    "01.2", "How much memory does pandas-concat hold per row?", check_bytes_per_row, None, None,
    "The rise in peak memory between the two sizes, divided by the rows added: the price of "
    "holding a row as Python objects in a DataFrame (and once more during the concat).",
)  # fmt: skip
EXERCISES = (GROWS, PER_ROW)
