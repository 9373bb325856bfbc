"""A deterministic pagila generator with a scale factor.

At scale factor (SF) 1 every table has upstream pagila's row count. Facts (rental, payment) grow
linearly with SF; dimensions grow with sqrt(SF) (inventory with SF^0.75, so each copy of a film is
rented a plausible number of times). The same seed and SF always give the same rows.

Rules that keep the data consistent:
- every foreign key resolves; a rental's staff member works at the store holding the inventory item;
- an inventory item's rentals never overlap, and a return follows its rental (a few recent rentals
  are still out: NULL return);
- one payment per rental, by the rental's customer to the rental's staff member, of the film's
  rental rate plus $1 per day kept beyond the film's rental duration, dated at the return (or at the
  rental while it is still out), inside the monthly payment partitions `partitions()` lists.

Facts are produced in blocks of inventory items, as Arrow record batches, so memory does not grow
with SF; dimensions are small and built as Python rows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from playground.config.months import next_month
from playground.datasets.pagila import words

WINDOW_START = datetime(2022, 2, 14, tzinfo=UTC)
WINDOW_DAYS = 190
LAST_UPDATE = datetime(2022, 2, 15, 9, 57, 20, tzinfo=UTC)
LATE_FEE_PER_DAY = 1.0
BLOCK_ITEMS = 8192  # inventory items per generated fact block
DAY = 86_400
# Measured at SF 1 (pg_total_relation_size / rows), rounded up: sizes a seed before it runs
_BYTES_PER_ROW = {
    "city": 170, "address": 240, "actor": 290, "film": 830, "film_actor": 95,
    "film_category": 95, "store": 200, "staff": 240, "customer": 330, "inventory": 120,
    "rental": 160, "payment": 170,
}  # fmt: skip
_EMPTY_DATABASE_BYTES = 8 * 2**20


@dataclass(frozen=True)
class Scale:
    """Row counts of every table at scale factor `sf`."""

    sf: float

    def __post_init__(self) -> None:
        if not (isinstance(self.sf, int | float) and math.isfinite(self.sf) and self.sf > 0):
            raise ValueError(f"scale factor must be a positive number, got {self.sf!r}")

    def disk_bytes(self) -> int:
        """About how much disk the seeded database takes (per-row sizes at SF 1, with indexes)."""
        return _EMPTY_DATABASE_BYTES + sum(
            _BYTES_PER_ROW.get(table, 256) * rows for table, rows in self.counts.items()
        )

    def memory_bytes(self) -> int:
        """About how much memory the generator holds: per-item and per-film arrays, plus a block."""
        counts = self.counts
        return 300 * 2**20 + 40 * counts["inventory"] + 24 * counts["film"]

    def _dim(self, base: int, minimum: int = 1) -> int:
        return max(minimum, round(base * math.sqrt(self.sf)))

    @property
    def counts(self) -> dict[str, int]:
        customers = self._dim(599, 2)
        films = self._dim(1000, 2)
        stores = self._dim(500, 2)
        return {
            "language": len(words.LANGUAGES),
            "category": len(words.CATEGORIES),
            "country": len(words.COUNTRIES),
            "city": self._dim(600),
            "address": customers + 4,
            "actor": self._dim(200, 2),
            "film": films,
            "film_actor": round(5.462 * films),
            "film_category": round(2.367 * films),
            "store": stores,
            "staff": 3 * stores,
            "customer": customers,
            "inventory": max(films, round(4581 * self.sf**0.75)),
            "rental": max(1, round(16044 * self.sf)),
            "payment": max(1, round(16044 * self.sf)),
        }


def _rng(seed: int, *stream: str | int) -> np.random.Generator:
    """An independent, reproducible random stream per (seed, table, block)."""
    key = [seed] + [
        int.from_bytes(hashlib.sha256(str(s).encode()).digest()[:4], "little") for s in stream
    ]
    return np.random.default_rng(key)


def partitions() -> list[date]:
    """First day of each month that holds payments (the rental window plus the longest return)."""
    last = WINDOW_START + timedelta(days=WINDOW_DAYS + 31)
    months, month = [], date(WINDOW_START.year, WINDOW_START.month, 1)
    while month <= last.date():
        months.append(month)
        month = next_month(month)
    return months


class Generator:
    """Rows of every pagila table for one (scale factor, seed)."""

    def __init__(self, sf: float = 1.0, seed: int = 42) -> None:
        self.scale = Scale(sf)
        self.seed = int(seed)
        self.counts = self.scale.counts
        # Dimension attributes the facts need, drawn once (sizes grow with sqrt(SF) only).
        rng = _rng(self.seed, "film-attributes")
        n_films = self.counts["film"]
        self.film_duration = rng.integers(3, 8, n_films)  # days, as upstream (3-7)
        self.film_rate = rng.choice(np.array([0.99, 2.99, 4.99]), n_films)
        rng = _rng(self.seed, "inventory")
        n_items = self.counts["inventory"]
        # every film has a copy, the rest are spread at random; sorted by film like upstream
        extra = rng.integers(0, n_films, n_items - n_films)
        self.inventory_film = np.sort(np.concatenate([np.arange(n_films), extra]))
        self.inventory_store = rng.integers(0, self.counts["store"], n_items)
        self.rentals_per_item = _rng(self.seed, "rental-counts").multinomial(
            self.counts["rental"], np.full(n_items, 1.0 / n_items)
        )

    # ---- dimensions -------------------------------------------------------------------------

    def language(self) -> Iterator[tuple]:
        for i, name in enumerate(words.LANGUAGES, start=1):
            yield (i, name, LAST_UPDATE)

    def category(self) -> Iterator[tuple]:
        for i, name in enumerate(words.CATEGORIES, start=1):
            yield (i, name, LAST_UPDATE)

    def country(self) -> Iterator[tuple]:
        for i, name in enumerate(words.COUNTRIES, start=1):
            yield (i, name, LAST_UPDATE)

    def city(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "city")
        n_countries = self.counts["country"]
        for i in range(1, self.counts["city"] + 1):
            name = (
                str(rng.choice(words.CITY_PARTS))
                + str(rng.choice(words.CITY_PARTS)).lower()
                + str(rng.choice(words.CITY_ENDS))
            )
            # the first cities cover every country, the rest land anywhere
            country = i if i <= n_countries else int(rng.integers(1, n_countries + 1))
            yield (i, name, country, LAST_UPDATE)

    def address(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "address")
        n_cities = self.counts["city"]
        for i in range(1, self.counts["address"] + 1):
            street = f"{rng.integers(1, 2000)} {rng.choice(words.STREETS)} "
            street += str(rng.choice(words.STREET_KINDS))
            postal = f"{rng.integers(10000, 99999)}" if rng.random() > 0.01 else None
            phone = "".join(str(d) for d in rng.integers(0, 10, 12))
            district = str(rng.choice(words.DISTRICTS))
            city = int(rng.integers(1, n_cities + 1))
            yield (i, street, None, district, city, postal, phone, LAST_UPDATE)

    def actor(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "actor")
        for i in range(1, self.counts["actor"] + 1):
            first, last = rng.choice(words.FIRST_NAMES), rng.choice(words.LAST_NAMES)
            yield (i, str(first).upper(), str(last).upper(), LAST_UPDATE)

    def film(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "film")
        n_languages = self.counts["language"]
        for i in range(1, self.counts["film"] + 1):
            title = f"{rng.choice(words.TITLE_WORDS)} {rng.choice(words.TITLE_WORDS)}".upper()
            if self.counts["film"] > 1000:  # keep titles unique-ish at scale, like sequels
                title += f" {i // 1000 + 1}" if i > 1000 else ""
            description = (
                f"A {rng.choice(words.ADJECTIVES)} {rng.choice(words.GENRES)} of a "
                f"{rng.choice(words.CHARACTERS)} And a {rng.choice(words.CHARACTERS)} who must "
                f"{rng.choice(words.VERBS)} a {rng.choice(words.CHARACTERS)} in "
                f"{rng.choice(words.PLACES)}"
            )
            features = [f for f in words.SPECIAL_FEATURES if rng.random() < 0.5] or ["Trailers"]
            yield (
                i, title, description, int(rng.integers(2000, 2023)),
                1 if rng.random() < 0.9 else int(rng.integers(2, n_languages + 1)),
                None, int(self.film_duration[i - 1]), float(self.film_rate[i - 1]),
                int(rng.integers(46, 186)), round(float(rng.integers(9, 30)) + 0.99, 2),
                str(rng.choice(words.RATINGS)), LAST_UPDATE, features,
            )  # fmt: skip

    def film_actor(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "film_actor")
        n_films, n_actors = self.counts["film"], self.counts["actor"]
        per_film = 1 + rng.multinomial(
            self.counts["film_actor"] - n_films, np.full(n_films, 1 / n_films)
        )
        per_film = np.minimum(per_film, n_actors)
        for film, k in enumerate(per_film, start=1):
            for actor in np.sort(rng.choice(n_actors, size=int(k), replace=False)) + 1:
                yield (int(actor), film, LAST_UPDATE)

    def film_category(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "film_category")
        n_films, n_categories = self.counts["film"], self.counts["category"]
        extra = self.counts["film_category"] - n_films  # films with more than one category
        per_film = np.ones(n_films, dtype=int)
        per_film[rng.choice(n_films, size=min(extra, n_films), replace=False)] += 1
        per_film[rng.choice(n_films, size=max(0, extra - n_films), replace=False)] += 1
        for film, k in enumerate(per_film, start=1):
            for category in np.sort(rng.choice(n_categories, size=int(k), replace=False)) + 1:
                yield (film, int(category), LAST_UPDATE)

    def store(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "store")
        n_addresses = self.counts["address"]
        for store in range(1, self.counts["store"] + 1):
            manager = 3 * (store - 1) + 1
            yield (store, manager, int(rng.integers(1, n_addresses + 1)), LAST_UPDATE)

    def staff(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "staff")
        n_addresses = self.counts["address"]
        for i in range(1, self.counts["staff"] + 1):
            first, last = str(rng.choice(words.FIRST_NAMES)), str(rng.choice(words.LAST_NAMES))
            username = f"{first.lower()}.{last.lower()}{i}"
            # not a credential: a sample password hash, as in upstream's data
            password = hashlib.sha1(f"pagila-{self.seed}-{i}".encode()).hexdigest()  # noqa: S324
            picture = _STAFF_PICTURE if i == 1 else None
            yield (
                i, first, last, int(rng.integers(1, n_addresses + 1)),
                f"{first}.{last}@sakilastaff.com", (i - 1) // 3 + 1, True, username, password,
                LAST_UPDATE, picture,
            )  # fmt: skip

    def customer(self) -> Iterator[tuple]:
        rng = _rng(self.seed, "customer")
        n_stores = self.counts["store"]
        for i in range(1, self.counts["customer"] + 1):
            first, last = str(rng.choice(words.FIRST_NAMES)), str(rng.choice(words.LAST_NAMES))
            active = int(rng.random() > 0.025)
            created = (WINDOW_START - timedelta(days=int(rng.integers(0, 400)))).date()
            yield (
                i, int(rng.integers(1, n_stores + 1)), first.upper(), last.upper(),
                f"{first}.{last}{i}@{rng.choice(words.EMAIL_DOMAINS)}".upper(),
                i, bool(active), created, LAST_UPDATE, active,
            )  # fmt: skip

    def inventory(self) -> Iterator[tuple]:
        for i, (film, store) in enumerate(
            zip(self.inventory_film, self.inventory_store, strict=True)
        ):
            yield (i + 1, int(film) + 1, int(store) + 1, LAST_UPDATE)

    # ---- facts ------------------------------------------------------------------------------

    def fact_blocks(self) -> Iterator[pa.RecordBatch]:
        """Rentals with their payment columns, a block of inventory items at a time."""
        n_items = self.counts["inventory"]
        first_id = 1
        window = WINDOW_DAYS * DAY
        window_start = int(WINDOW_START.timestamp())
        for block, lo in enumerate(range(0, n_items, BLOCK_ITEMS)):
            hi = min(n_items, lo + BLOCK_ITEMS)
            counts = self.rentals_per_item[lo:hi]
            n = int(counts.sum())
            if n == 0:
                continue
            rng = _rng(self.seed, "rental", block)
            item = np.repeat(np.arange(lo, hi), counts)
            starts = np.repeat(np.cumsum(counts) - counts, counts)
            slot = np.arange(n) - starts  # position of the rental among its item's rentals
            k = np.repeat(counts, counts)
            slot_len = window / k
            film = self.inventory_film[item]
            allowed = self.film_duration[film]
            kept = np.minimum(rng.uniform(0.3, allowed + 3.0) * DAY, 0.9 * slot_len)
            rental_ts = window_start + slot * slot_len + rng.random(n) * (slot_len - kept)
            rental_ts = np.floor(rental_ts).astype(np.int64)
            return_ts = rental_ts + np.ceil(kept).astype(np.int64)
            still_out = (rental_ts > window_start + window - 10 * DAY) & (rng.random(n) < 0.3)
            late_days = np.ceil(np.maximum(0, kept / DAY - allowed))
            amount = np.where(still_out, 0.0, late_days * LATE_FEE_PER_DAY) + self.film_rate[film]
            store = self.inventory_store[item]
            staff = 3 * store + 1 + rng.integers(0, 3, n)
            ids = np.arange(first_id, first_id + n, dtype=np.int32)
            first_id += n
            paid_ts = np.where(still_out, rental_ts, return_ts)
            yield pa.record_batch(
                {
                    "rental_id": ids,
                    "rental_date": _ts(rental_ts),
                    "inventory_id": pa.array(item + 1, pa.int32()),
                    "customer_id": pa.array(
                        rng.integers(1, self.counts["customer"] + 1, n), pa.int32()
                    ),
                    "return_date": _ts(return_ts, mask=still_out),
                    "staff_id": pa.array(staff, pa.int32()),
                    "last_update": _ts(np.maximum(return_ts, rental_ts)),
                    "amount": pa.array(np.round(amount, 2)),
                    "payment_date": _ts(paid_ts),
                }
            )


def _ts(seconds: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(seconds, pa.int64(), mask=mask).cast(pa.timestamp("s", tz="UTC"))


RENTAL_COLUMNS = (
    "rental_id", "rental_date", "inventory_id", "customer_id", "return_date", "staff_id",
    "last_update",
)  # fmt: skip
PAYMENT_COLUMNS = ("payment_id", "customer_id", "staff_id", "rental_id", "amount", "payment_date")

# A 1x1 transparent PNG: upstream pagila's staff.picture is a bytea column.
_STAFF_PICTURE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
