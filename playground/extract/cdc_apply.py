"""Decoded changes applied to one Iceberg table in one commit that records the LSN it covers.

`fold` turns a table's changes, in commit order, into their net effect: the keys to remove from
the lakehouse (every key a change touched, the old key of a changed primary key too) and the
rows alive after them. `commit` writes that effect as one Iceberg transaction (a delete of those
keys, or of everything after a TRUNCATE, then an append of the rows alive) whose snapshot
summary holds `playground.cdc.slot` and `playground.cdc.lsn`: every transaction committed before
that LSN is in the table. `applied_lsn` reads it back, so a rerun skips what is already there.

The net effect does not depend on what the table held for the keys it touches: replaying
changes the table already holds (after a kill, or over a load made after the slot was created)
leaves it as it was. A TOASTed value an update left unchanged is the one exception to "the
change carries the row": it is taken from an earlier change of the same batch, else from the
lakehouse's row under the old key (or under the new key, when a replay finds the old one gone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, In, Or

from playground.extract.pgoutput import UNCHANGED, Change, lsn_int, lsn_text

SLOT_PROPERTY, LSN_PROPERTY = "playground.cdc.slot", "playground.cdc.lsn"


class CdcError(RuntimeError):
    """Logical replication is not available, not set up, or cannot apply; says what to do."""


@dataclass
class Net:
    """A table's changes folded: what to remove from the lakehouse, what is alive after them."""

    truncated: bool = False
    removed: set[tuple] = field(default_factory=set)  # keys as text tuples
    alive: dict[tuple, tuple[dict, tuple]] = field(default_factory=dict)  # key → (row, base keys)
    changes: int = 0


def fold(changes: Iterable[Change], table: str, key: list[str], since: int = 0) -> Net:
    """The net effect of `table`'s changes committed at or after `since` (an LSN)."""
    net = Net()
    for change in changes:
        if change.table != table or change.lsn < since:
            continue
        net.changes += 1
        if change.op == "truncate":
            net.truncated, net.alive = True, {}
            continue
        new = tuple(change.row[k] for k in key)
        old = tuple(change.old[k] for k in key) if change.old else new
        net.removed |= {old, new}
        if change.op == "delete":
            net.alive.pop(new, None)
            continue
        before = net.alive.pop(old, None)
        row, base = dict(change.row), (old, new)
        if before is not None:  # an earlier image of this batch fills what is unchanged
            row = {c: before[0][c] if v is UNCHANGED else v for c, v in row.items()}
            base = before[1]
        net.alive[new] = (row, base)
    return net


def _typed_keys(keys: Iterable[tuple], schema: pa.Schema, key: list[str]) -> list[tuple]:
    columns = list(zip(*keys, strict=True)) or [() for _ in key]
    typed = [_cast(list(col), schema.field(k).type) for col, k in zip(columns, key, strict=True)]
    return list(zip(*typed, strict=True))


def _cast(texts: list, kind: pa.DataType, column: str = "") -> list:
    """Text values as PostgreSQL prints them, as Python values of the lakehouse's `kind`."""
    if pa.types.is_boolean(kind):
        return [None if v is None else v == "t" for v in texts]
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):  # bytea prints as \x<hex>
        return [None if v is None else bytes.fromhex(v[2:]) for v in texts]
    try:
        return pa.array(texts, pa.string()).cast(kind).to_pylist()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = next(v for v in texts if v is not None and not _fits(v, kind))
        raise CdcError(
            f"column {column!r}: PostgreSQL's value {bad[:40]!r} does not fit the lakehouse's "
            f"{kind}; change it in PostgreSQL, then catch up again (nothing was applied)"
        ) from None


def _fits(text: str, kind: pa.DataType) -> bool:
    try:
        pa.array([text], pa.string()).cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def schema_changed(
    table: str, theirs: Iterable[str], ours: Iterable[str], altered: Iterable[str] = ()
) -> CdcError | None:
    """The refusal when PostgreSQL's columns (`theirs`) are not the lakehouse's (`ours`), or
    PostgreSQL `altered` some since the slot was started."""
    apart, altered = sorted(set(theirs) ^ set(ours)), sorted(altered)
    if apart:
        said = f"the columns {', '.join(apart)} are in only one of PostgreSQL and the lakehouse"
    elif altered:
        said = f"the columns {', '.join(altered)} were altered in PostgreSQL after the slot began"
    else:
        return None
    return CdcError(
        f"{table}: {said} (a schema change): start the slot again (`cdc.start`), then reload "
        "the table whole (`incremental.full_reload`)"
    )


def _check_columns(table: str, entries: list, schema: pa.Schema) -> None:
    """Every change must carry the lakehouse table's columns, no fewer and no more."""
    for row, _base in entries:
        if (refusal := schema_changed(table, row, schema.names)) is not None:
            raise refusal


def _key_filter(keys: list[tuple], key: list[str]) -> BooleanExpression:
    if len(key) == 1:
        return In(key[0], [k[0] for k in keys])
    terms = [And(*(EqualTo(c, v) for c, v in zip(key, k, strict=True))) for k in keys]
    return terms[0] if len(terms) == 1 else Or(*terms)


def _kept_values(iceberg, net: Net, key: list[str], schema: pa.Schema) -> dict[tuple, dict]:
    """The lakehouse's rows an update's unchanged values come from, by typed key."""
    bases = {b for row, base in net.alive.values() if UNCHANGED in row.values() for b in base}
    if not bases:
        return {}
    typed = _typed_keys(bases, schema, key)
    rows = iceberg.scan(row_filter=_key_filter(typed, key)).to_arrow().to_pylist()
    return {tuple(r[k] for k in key): r for r in rows}


def rows(iceberg, net: Net, key: list[str]) -> pa.Table:
    """The rows alive after the changes, in the lakehouse table's schema."""
    schema = iceberg.schema().as_arrow()
    lake = _kept_values(iceberg, net, key, schema)
    entries = list(net.alive.values())
    _check_columns(iceberg.name()[-1], entries, schema)
    columns = []
    for f in schema:
        texts = [None if r[f.name] is UNCHANGED else r[f.name] for r, _ in entries]
        values = _cast(texts, f.type, f.name)
        for i, (row, base) in enumerate(entries):
            if row[f.name] is UNCHANGED:
                values[i] = _from_lake(lake, base, schema, key, f.name)
        columns.append(pa.array(values, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _from_lake(lake: dict, base: tuple, schema: pa.Schema, key: list[str], column: str):
    for typed in _typed_keys(base, schema, key):
        if typed in lake:
            return lake[typed][column]
    raise CdcError(
        f"an update kept the large value of {column!r} for key {base[0]}, which the lakehouse "
        "does not hold: reload the table whole (`incremental.full_reload`), then catch up"
    )


def applied_lsn(iceberg, slot: str) -> int:
    """The LSN the table's current snapshot recorded, when a commit of `slot` wrote it; else 0.

    After any other write (a reload, say) the slot's changes are all replayed: replaying what
    the table holds changes nothing, where trusting an older LSN could skip what it lacks.
    """
    current = iceberg.current_snapshot()
    if current is None or current.summary is None or current.summary[SLOT_PROPERTY] != slot:
        return 0
    return lsn_int(current.summary[LSN_PROPERTY])


def commit(iceberg, net: Net, key: list[str], slot: str, fence: int) -> tuple[int, int]:
    """One transaction: remove the touched keys (or all rows), append the rows alive, record
    `fence`; (keys removed, rows written)."""
    alive = rows(iceberg, net, key)
    schema = iceberg.schema().as_arrow()
    where = (
        AlwaysTrue() if net.truncated else _key_filter(_typed_keys(net.removed, schema, key), key)
    )
    summary = {SLOT_PROPERTY: slot, LSN_PROPERTY: lsn_text(fence)}
    with iceberg.transaction() as tx:
        tx.delete(where, snapshot_properties=summary)
        if alive.num_rows:
            tx.append(alive, snapshot_properties=summary)
    return len(net.removed) - len(net.alive), alive.num_rows
