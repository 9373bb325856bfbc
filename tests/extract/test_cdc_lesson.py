"""Lesson 05's change data capture: the slot is created before the tables are loaded, so a
change the shop commits while the lesson loads (here: while the last table is read) reaches
the lakehouse. The change is made for real in PostgreSQL, from inside the load."""

from __future__ import annotations

from playground.extract import cdc
from playground.lessons import incremental_loading as lesson
from playground.services import postgres

COLUMNS = "rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update"


def test_a_change_committed_during_the_load_is_not_lost(fresh_postgres, monkeypatch) -> None:
    load = lesson.incremental.full_reload

    def load_while_the_shop_works(source, table, identifier, *args):
        if identifier == "lesson05_cdc.customer":  # rental is loaded already
            with postgres.connect(lesson.DATABASE) as conn:
                conn.execute("update rental set return_date = now() where rental_id = 1")
                conn.execute("delete from payment where rental_id = 2")
                conn.execute("delete from rental where rental_id = 2")
        return load(source, table, identifier, *args)

    monkeypatch.setattr(lesson.incremental, "full_reload", load_while_the_shop_works)
    source = lesson.prepare(progress=lambda _line: None)
    try:
        with postgres.connect(lesson.DATABASE) as conn:
            cdc.catch_up(
                conn, lesson.SLOT, source.cat, {"rental": ("lesson05_cdc.rental", "rental_id")}
            )
            postgres_rows = conn.execute(f"select {COLUMNS} from rental").fetchall()  # noqa: S608
        lake = source.cat.load_table("lesson05_cdc.rental").scan().to_arrow().to_pylist()
        lake_rows = [tuple(r[c] for c in COLUMNS.split(", ")) for r in lake]
        assert len(lake_rows) == len(postgres_rows) > 1000
        assert set(lake_rows) == set(postgres_rows)
        assert [r[4] is not None for r in lake_rows if r[0] == 1] == [True]
    finally:
        source.close()
        lesson.finish()
