# /// script
# requires-python = ">=3.11"
#
# # Not promoted to a Dagster asset: it changes a table step by step for a learner to watch,
# # and it needs Trino, which embedded mode does not start.
# ///

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Lesson 03: Trino CRUD on Iceberg")


@app.cell
def _():
    import altair as alt
    import marimo as mo
    import pandas as pd

    from playground import lakehouse
    from playground.config.settings import ServiceUnavailable, get_settings
    from playground.engines import duck, trino
    from playground.lessons import trino_crud

    return ServiceUnavailable, alt, duck, get_settings, lakehouse, mo, pd, trino, trino_crud


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # Trino CRUD on Iceberg

    Iceberg tables are files, yet Trino changes them row by row: `INSERT`, `UPDATE`, `DELETE` and
    `MERGE` each commit a new **snapshot**, and row-level changes write **delete files** next to
    the data files instead of rewriting them. In this lesson you change one table step by step,
    look at the metadata tables Trino exposes (`$snapshots`, `$history`, `$files`,
    `$partitions`), travel back in time, evolve the schema and the partitioning, and compact the
    table. After each change PyIceberg and DuckDB read the same table through the same catalog,
    the stack's Iceberg REST catalog: one catalog, three engines (lesson 02 has DuckDB write
    through it too).
    """)
    return


@app.cell
def _(ServiceUnavailable, get_settings, mo, trino):
    settings = get_settings()
    _why = ""
    try:
        if not settings.is_stack:  # a Trino answering now reads the stack's catalog, not ours
            raise ServiceUnavailable("PLAYGROUND_MODE is embedded, whose catalog Trino cannot see.")
        trino_version = trino.info(settings, timeout=3)["nodeVersion"]["version"]
    except ServiceUnavailable as _exc:
        trino_version = None
        _why = str(_exc)
    if trino_version is None and not mo.running_in_notebook():
        print(f"This lesson needs Trino and stops here: {_why}")  # run as a script: say why
    mo.stop(
        trino_version is None,
        mo.callout(
            mo.md(
                f"**Trino is not running**, so the cells below wait. {_why}\n\n"
                "Start the stack with `docker compose up --wait` (without Docker: "
                "`.venv/bin/playground stack up`), set `PLAYGROUND_MODE=stack` in `.env`, then "
                "reopen this lesson."
            ),
            kind="warn",
        ),
    )
    mo.md(f"Connected to Trino {trino_version} ({settings.mode} mode).")
    return settings, trino_version


@app.cell
def _(lakehouse, settings, trino):
    schema = "lesson_trino"
    table = trino.qualified("iceberg", schema, "payments")
    identifier = f"{schema}.payments"
    # The lakehouse copy of pagila when the pipeline has run, else pagila in PostgreSQL itself
    # (Trino's `postgresql` catalog): either way a CREATE TABLE AS.
    from_lakehouse = lakehouse.catalog(settings).table_exists("pagila.payment")
    source = (
        trino.qualified("iceberg", "pagila", "payment")
        if from_lakehouse
        else trino.qualified("postgresql", "public", "payment")
    )

    def sql(statement, params=None):
        return trino.execute(statement, params, settings=settings)

    sql(f"create schema if not exists {trino.qualified('iceberg', schema)}")
    sql(f"drop table if exists {table}")
    _columns = "payment_id, customer_id, staff_id, amount, payment_date"
    _by_month = "with (partitioning = array['month(payment_date)'])"
    sql(f"create table {table} {_by_month} as select {_columns} from {source}")  # noqa: S608
    print(f"created {identifier} from {source}")
    return identifier, source, sql, table


@app.cell(hide_code=True)
def _(mo, source):
    mo.md(f"""
    ## One table, three engines

    `CREATE TABLE ... WITH (partitioning = ARRAY['month(payment_date)']) AS SELECT ...` copied
    `{source}` into a new Iceberg table partitioned by month. The helper below counts its rows
    and sums its amounts through **Trino**, **PyIceberg** (reading the files itself) and
    **DuckDB** (`iceberg_scan` of the current metadata file), and records the snapshots and files
    after each step for the chart at the end.
    """)
    return


@app.cell
def _(duck, identifier, lakehouse, settings, sql, table, trino):
    history = []

    def look(step):
        """Rows and total amount per engine, plus snapshot and file counts, after `step`."""
        _, rows = sql(f"select count(*), sum(amount) from {table}")  # noqa: S608
        data = lakehouse.read(identifier, settings=settings)
        with duck.connect(settings=settings) as con:
            lakehouse.register_duckdb_view(con, identifier, "t", settings)
            in_duckdb = con.execute("select count(*), sum(amount) from t").fetchone()
        files_table = trino.qualified("iceberg", "lesson_trino", "payments$files")
        _, files = sql(f"select content, count(*) from {files_table} group by 1")  # noqa: S608
        kinds = dict(files)
        record = {
            "step": step,
            "trino": rows[0][0],
            "pyiceberg": data.num_rows,
            "duckdb": in_duckdb[0],
            "snapshots": len(lakehouse.snapshots(identifier, settings)),
            "data files": kinds.get(0, 0),
            "delete files": kinds.get(1, 0) + kinds.get(2, 0),
        }
        history.append(record)
        print(f"after {step}: trino={record['trino']} pyiceberg={record['pyiceberg']} "
              f"duckdb={record['duckdb']} delete_files={record['delete files']}")  # fmt: skip
        return record

    look("create table as")
    return history, look


@app.cell
def _(look, mo, sql, table):
    sql(f"insert into {table} values (999001, 1, 1, 4.99, timestamp '2022-05-01 10:00:00 UTC')")  # noqa: S608
    sql(f"update {table} set amount = amount + 1 where customer_id = 1")  # noqa: S608
    sql(f"delete from {table} where staff_id = 2 and amount < 1")  # noqa: S608
    sql(
        f"merge into {table} t using (values (999001, 9.99), (999002, 1.99)) s(id, amount) "  # noqa: S608
        "on t.payment_id = s.id "
        "when matched then update set amount = s.amount "
        "when not matched then insert (payment_id, customer_id, staff_id, amount, payment_date) "
        "values (s.id, 2, 1, s.amount, timestamp '2022-05-02 10:00:00 UTC')"
    )
    after_changes = look("insert, update, delete, merge")
    mo.md(f"""
    ## INSERT, UPDATE, DELETE, MERGE

    Four statements, four commits. Trino counts **{after_changes["trino"]:,}** rows, PyIceberg
    **{after_changes["pyiceberg"]:,}**, DuckDB **{after_changes["duckdb"]:,}**: the same table,
    although the `UPDATE`, `DELETE` and `MERGE` left **{after_changes["delete files"]}** delete
    file(s) that every reader applies on the fly.
    """)
    return


@app.cell
def _(mo, pd, sql, trino):
    def meta(name):
        names, rows = sql(f"select * from {trino.qualified('iceberg', 'lesson_trino', name)}")  # noqa: S608
        _frame = pd.DataFrame(rows, columns=names, dtype=object)
        for _id in {"snapshot_id", "parent_id"} & set(names):  # 64-bit ids: never via float
            _frame[_id] = _frame[_id].astype("Int64")
        return _frame.infer_objects()

    snapshots_frame = meta("payments$snapshots")
    mo.vstack([
        mo.md("## The metadata tables\n\n`$snapshots`: one row per commit, with what it did."),
        snapshots_frame[["committed_at", "snapshot_id", "parent_id", "operation"]],
        mo.md("`$history`, `$files` (content 0 = data, 1 = position deletes) and `$partitions`. "
              "(Their names are taken: through a REST catalog, Iceberg's client reads a missing "
              "table called `history` or `files` as that metadata table of a table named like "
              "its schema, so even `drop table if exists ... history` fails. Name tables "
              "otherwise.)"),
        meta("payments$history"),
        meta("payments$files")[["content", "file_path", "record_count", "file_size_in_bytes"]],
        meta("payments$partitions")[["partition", "record_count", "file_count"]],
    ])  # fmt: skip
    return (snapshots_frame,)


@app.cell
def _(mo, snapshots_frame, sql, table):
    first = int(snapshots_frame.sort_values("committed_at")["snapshot_id"].iloc[0])
    _, then = sql(f"select count(*), sum(amount) from {table} for version as of {first}")  # noqa: S608
    when = snapshots_frame.sort_values("committed_at")["committed_at"].iloc[0]
    _moment = f"timestamp '{when:%Y-%m-%d %H:%M:%S.%f} UTC'"
    _, then_by_time = sql(f"select count(*) from {table} for timestamp as of {_moment}")  # noqa: S608
    print(f"time travel: {then[0][0]} rows at the first snapshot")
    mo.md(f"""
    ## Time travel and rollback

    `FOR VERSION AS OF {first}` reads the table as the `CREATE TABLE AS` left it:
    **{then[0][0]:,}** rows (`FOR TIMESTAMP AS OF` its commit time: **{then_by_time[0][0]:,}**).
    The next cell rolls the table back to that snapshot, compares it with its source (the same
    rows, the same total), then redoes the `INSERT`.
    """)
    return (first,)


@app.cell
def _(first, look, mo, source, sql, table):
    sql(f"alter table {table} execute rollback_to_snapshot({first})")
    rolled_back = look("rollback to the first snapshot")
    # the table as the CREATE TABLE AS made it: the same rows and amounts as its source now
    _, _ours = sql(f"select count(*), sum(amount) from {table}")  # noqa: S608
    _, _theirs = sql(f"select count(*), sum(amount) from {source}")  # noqa: S608
    _said = (f"rolled back: {_ours[0][0]} rows summing {_ours[0][1]}; {source}: "
             f"{_theirs[0][0]} rows summing {_theirs[0][1]}; "
             f"equal: {_ours == _theirs}")  # fmt: skip
    print(_said)
    sql(f"insert into {table} values (999001, 1, 1, 4.99, timestamp '2022-05-01 10:00:00 UTC')")  # noqa: S608
    look("insert again")
    mo.callout(mo.md(_said), kind="success" if _ours == _theirs else "danger")
    return (rolled_back,)


@app.cell
def _(look, mo, sql, table):
    sql(f"alter table {table} execute optimize")
    sql(f"alter table {table} execute expire_snapshots(retention_threshold => '0s')")
    compacted = look("optimize, expire snapshots")
    mo.md(f"""
    ## Compaction and expiry

    `optimize` rewrote the small files and the delete files into fewer data files
    (**{compacted["data files"]}** data, **{compacted["delete files"]}** delete files now);
    `expire_snapshots` dropped the history older than its threshold (this catalog allows `0s`,
    a playground setting: production keeps days), leaving **{compacted["snapshots"]}** snapshot(s):
    time travel to expired snapshots is gone.
    """)
    return


@app.cell
def _(look, mo, pd, sql, table):
    sql(f"alter table {table} add column note varchar")
    sql(f"alter table {table} rename column note to remark")
    sql(f"update {table} set remark = 'checked' where payment_id = 999001")  # noqa: S608
    _spec = "array['month(payment_date)', 'bucket(customer_id, 4)']"
    sql(f"alter table {table} set properties partitioning = {_spec}")
    _row = "(999003, 3, 1, 2.99, timestamp '2022-05-03 10:00:00 UTC', 'new spec')"
    sql(f"insert into {table} values {_row}")  # noqa: S608
    look("schema and partition evolution")
    names, columns = sql(f"describe {table}")
    mo.vstack([
        mo.md("""
    ## Schema and partition evolution

    A column added and renamed (old rows read it as null; nothing is rewritten), then the
    partitioning changed from months to months × 4 buckets of customers: files written now use the
    new spec, old files keep theirs, and queries prune with both.
    """),
        pd.DataFrame(columns, columns=names),
    ])  # fmt: skip
    return


@app.cell
def _(alt, history, mo, pd):
    _frame = pd.DataFrame(history).reset_index(names="order")
    _long = _frame.melt(
        id_vars=["order", "step"], value_vars=["snapshots", "data files", "delete files"]
    )
    _chart = (
        alt.Chart(_long)
        .mark_line(point=True)
        .encode(
            x=alt.X("order:O", title="step", axis=alt.Axis(labelExpr="datum.value + 1")),
            y=alt.Y("value:Q", title="count"),
            color=alt.Color("variable:N", title=""),
            tooltip=["step", "variable", "value"],
        )
        .properties(width=600, height=260, title="Snapshots and files over the lesson")
    )
    mo.vstack([_chart, _frame[["step", "trino", "pyiceberg", "duckdb", "snapshots",
                               "data files", "delete files"]]])  # fmt: skip
    return


@app.cell
def _(mo, pd, sql, trino_crud):
    steps = trino_crud.build(sql)
    _names, _rows = sql(
        f"select snapshot_id, parent_id, operation, summary from {trino_crud.SNAPSHOTS} "  # noqa: S608
        "order by committed_at"
    )
    mo.vstack([
        mo.md(f"""
    ## Exercises

    The table above has been compacted and its history expired, so the exercises use a small
    table of their own, `iceberg.{trino_crud.IDENTIFIER}`, made by one commit per step:
    {", ".join(steps)}. Its `$snapshots` table (Trino's view of the history):
    """),
        pd.DataFrame(_rows, columns=_names),
        mo.md("""
    Each exercise has a box for your query (one that returns a snapshot id) and a check under it,
    which reads every snapshot with PyIceberg and says ✅, or ❌ with a hint. The box only
    reads: Trino here writes to the same catalog as the pagila pipeline, so the check parses
    your query first (with sqlglot, as Trino SQL) and runs it only if it is one `SELECT` (or
    `WITH ... SELECT`) without table functions; anything else is refused, unrun, with the reason.

    **1. Which commit removed the most rows?**
    """),
    ])  # fmt: skip
    return (steps,)


@app.cell
def _(mo):
    # Exercise 1: a Trino query returning the id of the snapshot that removed the most rows
    most_removed_query = mo.ui.text_area(
        placeholder="select snapshot_id from ...", rows=5, label="your query", full_width=True
    )
    most_removed_query
    return (most_removed_query,)


@app.cell
def _(most_removed_query, settings, sql, steps, trino_crud):
    assert steps  # the exercise table exists
    trino_crud.MOST_REMOVED.show(most_removed_query.value, sql=sql, settings=settings)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **2. Which snapshot shows the table as it was just before the MERGE?** Time travel to it
    (`FOR VERSION AS OF <id>`) must read the rows the MERGE started from.
    """)
    return


@app.cell
def _(mo):
    # Exercise 2: a Trino query returning that snapshot's id
    before_merge_query = mo.ui.text_area(
        placeholder="select ... from ...", rows=5, label="your query", full_width=True
    )
    before_merge_query
    return (before_merge_query,)


@app.cell
def _(before_merge_query, settings, sql, steps, trino_crud):
    assert steps
    trino_crud.BEFORE_MERGE.show(before_merge_query.value, sql=sql, settings=settings)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Next: [lesson 04, IO managers](?file=04_io_managers.py), how Dagster stores what assets return,
    and the Trino IO manager this lesson's writes lead to.
    """)
    return


if __name__ == "__main__":
    app.run()
