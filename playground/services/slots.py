"""Replication slots: every one the server has with the log it holds back, and the playground's
own, with the process that created them.

A logical slot keeps write-ahead log from its `restart_lsn` on until a reader advances it: a
slot whose reader died keeps it forever and fills the disk. The playground names its slots
`playground_...` and writes the creating process (pid and start time) as the comment of the
publication of the same name, so `stale` can tell a slot left by a killed run (inactive, its
creator gone) from one still in use, and never touches a slot someone else made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import psutil
from psycopg import errors, sql

from playground.config.settings import Settings, get_settings
from playground.services import postgres

PREFIX = "playground_"


@dataclass(frozen=True)
class Slot:
    name: str
    database: str | None  # None for a physical slot
    active: bool
    held: int  # bytes of write-ahead log kept for it (from its restart_lsn to now)
    owner: str | None = None  # "pid:start time" of the process that created it, when recorded

    @property
    def ours(self) -> bool:
        return self.name.startswith(PREFIX)

    @property
    def stale(self) -> bool:
        """The playground's, inactive, and the process that created it is gone."""
        return self.ours and not self.active and bool(self.owner) and not owner_alive(self.owner)

    def line(self) -> str:
        state = "active" if self.active else "inactive"
        where = f"database {self.database}" if self.database else "physical"
        owner = f", created by pid {self.owner.split(':')[0]}" if self.owner else ""
        gone = " (gone)" if self.owner and not owner_alive(self.owner) else ""
        return f"{self.name} ({where}, {state}{owner}{gone}): {self.held / 2**20:,.1f} MB of WAL"


def this_process() -> str:
    """The owner record of the calling process."""
    return f"{psutil.Process().pid}:{psutil.Process().create_time():.2f}"


def owner_alive(owner: str) -> bool:
    """Is the process an owner record names still running (a reused pid is not)?"""
    pid, started = owner.split(":")
    try:
        return f"{psutil.Process(int(pid)).create_time():.2f}" == started
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # another user's process: it exists
        return True


def record_owner(conn, name: str) -> None:
    """Write the calling process as the creator of slot `name` (on its publication)."""
    owner = sql.Literal(this_process())
    conn.execute(sql.SQL("comment on publication {} is {}").format(sql.Identifier(name), owner))


def _owners(database: str, settings: Settings | None) -> dict[str, str]:
    with postgres.connect(database, settings) as conn:
        rows = conn.execute(
            "select pubname, obj_description(oid, 'pg_publication') from pg_publication "
            "where pubname like 'playground\\_%'"
        ).fetchall()
    return {name: owner for name, owner in rows if owner}


def list_slots(settings: Settings | None = None) -> list[Slot]:
    """Every replication slot of the server, with the bytes of log each holds back."""
    with postgres.connect("postgres", settings) as conn:
        rows = conn.execute(
            "select slot_name, database, active, coalesce(pg_wal_lsn_diff("
            "pg_current_wal_lsn(), restart_lsn), 0)::bigint from pg_replication_slots order by 1"
        ).fetchall()
    owners: dict[str, str] = {}
    for database in {r[1] for r in rows if r[1] and r[0].startswith(PREFIX)}:
        owners |= _owners(database, settings)
    return [Slot(n, d, a, held, owners.get(n)) for n, d, a, held in rows]


def stale(settings: Settings | None = None) -> list[Slot]:
    """The playground's slots a killed run left: inactive, their creator gone."""
    return [slot for slot in list_slots(settings) if slot.stale]


class SlotError(RuntimeError):
    """A slot this role may not drop; the message names how to drop it."""


def drop(slot: Slot, settings: Settings | None = None) -> None:
    """Drop a slot and its publication (the slot only if it is still inactive).

    Only a role with REPLICATION may drop a slot; the local stack's role has none, but its server
    is the data directory's embedded one, whose superuser drops it (the same slot, checked by its
    position in the log). Otherwise SlotError names what to run."""
    settings = settings or get_settings()
    try:
        _drop(slot, settings)
    except errors.InsufficientPrivilege:
        superuser = replace(settings, mode="embedded")
        if settings.is_stack and _same_slot(slot, settings, superuser):
            _drop(slot, superuser)
            return
        raise SlotError(
            f"cannot drop replication slot {slot.name} as role {settings.pg_user!r} (only a role "
            "with REPLICATION may): as the server's superuser, run "
            f"select pg_drop_replication_slot('{slot.name}')"
        ) from None


def _drop(slot: Slot, settings: Settings) -> None:
    with postgres.connect(slot.database or "postgres", settings, autocommit=True) as conn:
        conn.execute(
            "select pg_drop_replication_slot(slot_name) from pg_replication_slots "
            "where slot_name = %s and not active",
            (slot.name,),
        )
        if slot.database:
            conn.execute(sql.SQL("drop publication if exists {}").format(sql.Identifier(slot.name)))


def _same_slot(slot: Slot, settings: Settings, other: Settings) -> bool:
    """Do both connections see this slot at the same place in the same log (one server)?"""
    if not postgres.status(other).running:
        return False
    query = "select database, restart_lsn::text from pg_replication_slots where slot_name = %s"
    seen = []
    for each in (settings, other):
        with postgres.connect("postgres", each) as conn:
            seen.append(conn.execute(query, (slot.name,)).fetchone())
    return seen[0] is not None and seen[0] == seen[1]
