"""A day of business in pagila: new rentals (with their payments), returns, refunds, a new email.

`apply_day(conn, seed)` changes the database the way a rental shop's day would, in one
transaction, and says what it did. The day is the one after the newest rental, return or
payment, so calling it again applies the next day; the same database and seed always give the
same changes. Lesson 05 (incremental loading) loads from it; `playground changes` runs it.

What a day holds (each count is at most what the database can give):
- `rentals` new rentals of items on the shelf, each with its payment (dated at the rental);
- `returns` rentals still out are returned (their `return_date` and `last_update` set);
- `refunds` payments of the last 30 days are refunded: deleted, as the shop's system does;
- `emails` customers change their email (`last_update` set).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

DAY = timedelta(days=1)
RESEED = "seed it again (`playground seed --force`)"


class ChangesError(RuntimeError):
    """The day cannot be applied; the message says what to do."""


@dataclass(frozen=True)
class Day:
    """What one day changed: table → rows inserted, updated or deleted."""

    day: datetime  # midnight UTC of the day
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{n} {t} inserted" for t, n in self.inserted.items()]
        parts += [f"{n} {t} updated" for t, n in self.updated.items()]
        parts += [f"{n} {t} deleted" for t, n in self.deleted.items()]
        return f"{self.day:%Y-%m-%d}: " + ", ".join(parts)


def next_day(conn: psycopg.Connection) -> datetime:
    """Midnight UTC after the newest rental, return or payment: the day `apply_day` applies."""
    newest = conn.execute(
        "select greatest((select max(greatest(rental_date, return_date, last_update)) "
        "from rental), (select max(payment_date) from payment))"
    ).fetchone()[0]
    if newest is None:
        raise ChangesError("pagila has no rentals: seed it first (`playground seed`).")
    midnight = newest.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + DAY


def _moment(rng: random.Random, day: datetime) -> datetime:
    """A time during the shop's opening hours (09:00-21:00 UTC) of `day`."""
    return day + timedelta(seconds=rng.randrange(9 * 3600, 21 * 3600))


def _column(conn: psycopg.Connection, sql: str, params: tuple = ()) -> list:
    return [row[0] for row in conn.execute(sql, params).fetchall()]


def _new_rentals(conn, rng, day, count) -> int:
    shelf = conn.execute(
        "select i.inventory_id, i.store_id, f.rental_rate from inventory i "
        "join film f using (film_id) where not exists (select 1 from rental r "
        "where r.inventory_id = i.inventory_id and r.return_date is null) order by 1"
    ).fetchall()
    customers = _column(conn, "select customer_id from customer order by 1")
    staff: dict[int, list[int]] = {}
    for staff_id, store_id in conn.execute("select staff_id, store_id from staff order by 1"):
        staff.setdefault(store_id, []).append(staff_id)
    chosen = sorted(rng.sample(shelf, min(count, len(shelf))), key=lambda item: item[0])
    if chosen and not customers:
        raise ChangesError(f"pagila's customer table is empty: {RESEED}.")
    for inventory_id, store_id, rate in chosen:
        if not staff.get(store_id):
            raise ChangesError(f"store {store_id} has no row in pagila's staff table: {RESEED}.")
        when = _moment(rng, day)
        customer, clerk = rng.choice(customers), rng.choice(staff[store_id])
        rental_id = conn.execute(
            "insert into rental (rental_date, inventory_id, customer_id, staff_id, last_update) "
            "values (%s, %s, %s, %s, %s) returning rental_id",
            (when, inventory_id, customer, clerk, when),
        ).fetchone()[0]
        conn.execute(
            "insert into payment (customer_id, staff_id, rental_id, amount, payment_date) "
            "values (%s, %s, %s, %s, %s)",
            (customer, clerk, rental_id, rate, when),
        )
    return len(chosen)


def _returns(conn, rng, day, count) -> int:
    out = conn.execute(
        "select rental_id, rental_date from rental where return_date is null "
        "and rental_date < %s order by 1",
        (day,),
    ).fetchall()
    chosen = rng.sample(out, min(count, len(out)))
    for rental_id, rented in chosen:
        back = max(_moment(rng, day), rented + timedelta(minutes=1))
        conn.execute(
            "update rental set return_date = %s, last_update = %s where rental_id = %s",
            (back, back, rental_id),
        )
    return len(chosen)


def _refunds(conn, rng, day, count) -> int:
    recent = _column(
        conn,
        "select payment_id from payment where payment_date >= %s and payment_date < %s order by 1",
        (day - 30 * DAY, day),
    )
    chosen = rng.sample(recent, min(count, len(recent)))
    conn.execute("delete from payment where payment_id = any(%s)", (chosen,))
    return len(chosen)


def _emails(conn, rng, day, count) -> int:
    customers = conn.execute(
        "select customer_id, first_name, last_name from customer order by 1"
    ).fetchall()
    chosen = rng.sample(customers, min(count, len(customers)))
    for customer_id, first, last in chosen:
        email = f"{first}.{last}.{day:%Y%m%d}@example.org".lower()
        conn.execute(
            "update customer set email = %s, last_update = %s where customer_id = %s",
            (email, _moment(rng, day), customer_id),
        )
    return len(chosen)


@contextmanager
def _pagila_expected() -> Iterator[None]:
    """A database that is not the pagila these changes are written for fails in one line."""
    try:
        yield
    except psycopg.errors.CheckViolation:
        raise
    except (psycopg.errors.ProgrammingError, psycopg.errors.IntegrityError,
            psycopg.errors.DataError) as exc:  # fmt: skip
        where = ".".join(n for n in (exc.diag.table_name, exc.diag.column_name) if n)
        raise ChangesError(
            f"this database is not the pagila `playground changes` expects "
            f"({exc.diag.message_primary or exc}{f'; {where}' if where else ''}): {RESEED}."
        ) from None


def apply_day(
    conn: psycopg.Connection,
    seed: int = 0,
    rentals: int = 80,
    returns: int = 60,
    refunds: int = 5,
    emails: int = 3,
) -> Day:
    """Apply the next day of changes to the pagila database of `conn`, and commit them (with
    whatever the caller's open transaction holds)."""
    if seed < 0:
        raise ChangesError(f"--seed {seed}: the random seed must be 0 or more.")
    with _pagila_expected():
        day = next_day(conn)
    # one stream of choices per (seed, day): the same database and seed give the same day
    rng = random.Random(f"{seed}:{day:%Y-%m-%d}")
    try:
        with _pagila_expected(), conn.transaction():
            returned = _returns(conn, rng, day, returns)  # before today's rentals go out
            new = _new_rentals(conn, rng, day, rentals)
            refunded = _refunds(conn, rng, day, refunds)
            changed = _emails(conn, rng, day, emails)
        conn.commit()  # the block above is a savepoint when the caller's transaction was open
    except psycopg.errors.CheckViolation as exc:  # no partition of payment holds the day
        raise ChangesError(
            f"pagila's payment table has no partition for {day:%Y-%m-%d} "
            f"({exc.diag.message_primary}): the days it can hold are used up; seed it again "
            "(`playground seed --force`)."
        ) from None
    return Day(
        day,
        inserted={"rental": new, "payment": new},
        updated={"rental": returned, "customer": changed},
        deleted={"payment": refunded},
    )
