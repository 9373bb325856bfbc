"""A day of changes: reproducible from its seed, applied whole or not at all."""

from __future__ import annotations

import pytest

from playground.datasets.pagila import changes, seed
from playground.services import postgres

COPIES = ("pagila_changes_a", "pagila_changes_b")


@pytest.fixture
def copies():
    for name in COPIES:
        seed.seed(0.05, 7, database=name, progress=lambda _line: None)
    yield COPIES
    for name in COPIES:
        postgres.drop_database(name)


def _day_rows(database: str, day) -> list[tuple]:
    with postgres.connect(database) as conn:
        return conn.execute(
            "select rental_id, rental_date, inventory_id, customer_id, staff_id from rental "
            "where last_update >= %s order by 1", (day,)
        ).fetchall()  # fmt: skip


def test_the_same_seed_gives_the_same_day_and_another_seed_another(copies) -> None:
    with postgres.connect(copies[0]) as first, postgres.connect(copies[1]) as second:
        one, two = changes.apply_day(first, seed=5), changes.apply_day(second, seed=5)
    assert one == two and one.inserted == {"rental": 80, "payment": 80}
    assert one.deleted == {"payment": 5} and one.updated["customer"] == 3
    assert _day_rows(copies[0], one.day) == _day_rows(copies[1], one.day)
    with postgres.connect(copies[0]) as first, postgres.connect(copies[1]) as second:
        three, four = changes.apply_day(first, seed=5), changes.apply_day(second, seed=6)
    assert three.day == four.day == one.day + changes.DAY  # the next day follows the last
    assert _day_rows(copies[0], three.day) != _day_rows(copies[1], four.day)


def test_a_day_without_a_payment_partition_changes_nothing(copies) -> None:
    with postgres.connect(copies[0]) as conn:
        day = changes.next_day(conn)
        conn.execute(f"alter table payment detach partition payment_p{day:%Y_%m}")
        conn.commit()
        before = conn.execute("select count(*), max(last_update) from rental").fetchone()
        with pytest.raises(changes.ChangesError, match="no partition for .* seed it again"):
            changes.apply_day(conn, seed=1)
        conn.rollback()
        assert conn.execute("select count(*), max(last_update) from rental").fetchone() == before


ALTERED = {
    "a column dropped": ("alter table rental drop column return_date", "return_date"),
    "a table dropped": ("drop table staff cascade", "staff"),
    "a store without staff": (
        "update staff set store_id = (select min(store_id) from inventory)",
        "staff table",
    ),
}


@pytest.mark.parametrize("alteration", sorted(ALTERED))
def test_changes_on_an_altered_database_is_one_line_naming_it(alteration: str) -> None:
    """`playground changes` on a pagila someone altered: one line naming the table or column
    and the fix, no traceback, nothing changed."""
    import sys

    from tests.helpers import run

    statement, named = ALTERED[alteration]
    database = "pagila_altered"
    seed.seed(0.05, 7, database=database, progress=lambda _line: None)
    try:
        with postgres.connect(database, autocommit=True) as conn:
            conn.execute(statement)
            before = conn.execute("select count(*), max(rental_id) from rental").fetchone()
        done = run([sys.executable, "-m", "playground.cli", "changes", "--database", database])
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert named in lines[0] and "playground seed" in lines[0], lines[0]
        with postgres.connect(database) as conn:
            after = conn.execute("select count(*), max(rental_id) from rental").fetchone()
        assert after == before
    finally:
        postgres.drop_database(database)
