"""Replication slots on a server of the test's own: `playground doctor` lists every one with the
write-ahead log it holds back, and `playground clean` drops the playground's slots a killed run
left, never a slot still owned by a live process nor one someone else created."""

from __future__ import annotations

import sys

from playground.cli import doctor
from playground.extract import cdc
from playground.lakehouse import clean
from playground.services import postgres, slots
from playground.services.processes import kill_at_line

DATABASE = "slots_test"
CREATE_AND_WAIT = f"""
import time
from playground.extract import cdc
from playground.services import postgres
with postgres.connect({DATABASE!r}) as conn:
    cdc.start(conn, "playground_killed_run", ["t"])
print("started", flush=True)
time.sleep(120)  # killed here, as a lesson killed after its first cell
"""


def _names(conn) -> set[str]:
    return {r[0] for r in conn.execute("select slot_name from pg_replication_slots").fetchall()}


def test_doctor_lists_every_slot_and_clean_drops_only_a_killed_runs(fresh_postgres, settings):
    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE, autocommit=True) as conn:
        conn.execute("create table t (id int primary key, note text)")
        conn.execute("select pg_create_logical_replication_slot('their_slot', 'pgoutput')")
        kill_at_line([sys.executable, "-c", CREATE_AND_WAIT], "^started", extra_wait=0)
        cdc.start(conn, "playground_alive", ["t"])  # this process: alive
        before = conn.execute("select pg_current_wal_lsn()").fetchone()[0]
        conn.execute("insert into t select g, repeat('x', 500) from generate_series(1, 4000) g")
        written = conn.execute("select pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint",
                               (before,)).fetchone()[0]  # fmt: skip
        found = {slot.name: slot for slot in slots.list_slots(settings)}
        assert set(found) == {"their_slot", "playground_killed_run", "playground_alive"}
        assert all(slot.held >= written > 2_000_000 for slot in found.values())
        assert [s.name for s in found.values() if s.stale] == ["playground_killed_run"]

        check = next(c for c in doctor.checks(settings) if c.component == "replication slots")
        assert not check.ok and check.hint == "playground clean"
        assert check.detail.startswith("playground_killed_run left by killed runs; every slot:")
        assert "(gone)" in check.detail and "their_slot" in check.detail

        lines: list[str] = []
        assert clean.drop_stale_slots(settings, dry_run=True, progress=lines.append) == [
            "playground_killed_run"
        ]
        assert _names(conn) == set(found) and lines[0].startswith("would drop")
        clean.clean(settings, progress=lines.append)
        assert _names(conn) == {"their_slot", "playground_alive"}
        assert any(
            line.startswith("dropped replication slot playground_killed_run") for line in lines
        )
        assert conn.execute("select pubname from pg_publication order by 1").fetchall() == [
            ("playground_alive",)
        ]
        check = next(c for c in doctor.checks(settings) if c.component == "replication slots")
        assert check.ok and "their_slot (database slots_test, inactive)" in check.detail
        assert "playground_alive" in check.detail and "MB of WAL" in check.detail
        cdc.drop(conn, "playground_alive")
        conn.execute("select pg_drop_replication_slot('their_slot')")


def test_a_role_without_replication_drops_the_slot_through_the_embedded_superuser(
    fresh_postgres, settings, tmp_path
) -> None:
    """The local stack's role may not drop a slot; its server is the data directory's embedded
    one, whose superuser does. A server that is not (no embedded one runs there) keeps the slot
    and clean says, in one line, what to run."""
    from dataclasses import replace

    postgres.ensure_database(DATABASE)
    with postgres.connect(DATABASE, autocommit=True) as conn:
        conn.execute("create table t (id int primary key)")
        conn.execute("create role plain_owner login password 'not-a-secret-1'")
        kill_at_line([sys.executable, "-c", CREATE_AND_WAIT], "^started", extra_wait=0)
        port = postgres.running(settings).port
        stack = replace(settings, mode="stack", pg_host="127.0.0.1", pg_port=port,
                        pg_user="plain_owner", pg_password="not-a-secret-1")  # fmt: skip
        assert [slot.name for slot in slots.stale(stack)] == ["playground_killed_run"]

        elsewhere = replace(stack, data_dir=tmp_path / "no server here")
        lines: list[str] = []
        assert clean.drop_stale_slots(elsewhere, progress=lines.append) == []
        assert _names(conn) == {"playground_killed_run"}
        assert lines[0].startswith("kept replication slot playground_killed_run"), lines
        assert "next: cannot drop replication slot playground_killed_run as role " in lines[0]
        assert "select pg_drop_replication_slot('playground_killed_run')" in lines[0]
        assert "Traceback" not in lines[0] and "not-a-secret-1" not in lines[0]

        lines.clear()
        assert clean.drop_stale_slots(stack, progress=lines.append) == ["playground_killed_run"]
        assert _names(conn) == set() and lines[0].startswith("dropped replication slot")
        conn.execute("drop role plain_owner")
