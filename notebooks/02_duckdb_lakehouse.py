# /// script
# requires-python = ">=3.11"
#
# [tool.playground.promote]
# deps = ["pagila/payment", "pagila/rental", "pagila/inventory", "pagila/film",
#         "pagila/film_category", "pagila/category", "pagila/customer"]
# writes = "lessons.revenue_by_month"
# ///

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Lesson 02: DuckDB against the lakehouse")


@app.cell
def _():
    from decimal import Decimal

    import altair as alt
    import duckdb
    import marimo as mo
    import pandas as pd
    import pyarrow as pa

    from playground import lakehouse
    from playground.bench import analytics
    from playground.config.settings import ServiceUnavailable
    from playground.engines import duck, trino
    from playground.lessons import duckdb_lakehouse as lesson
    from playground.lessons import duckdb_writes as writes
    from playground.services import postgres

    return (
        Decimal,
        ServiceUnavailable,
        alt,
        analytics,
        duck,
        duckdb,
        lakehouse,
        lesson,
        mo,
        pa,
        pd,
        postgres,
        trino,
        writes,
    )


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # DuckDB against the lakehouse

    DuckDB is a query engine in a library: no server, one process, all cores. Here it queries
    pagila's tables in the lakehouse, the Iceberg tables the pagila pipeline writes, and you
    compare three ways of reaching the very same rows: through **Iceberg**, through the **raw
    Parquet files** underneath, and straight from **PostgreSQL**. Then you watch Iceberg skip
    files, travel back to an earlier snapshot, and, when the stack runs, write the lakehouse
    with DuckDB through the Iceberg REST catalog that PyIceberg and Trino use too.

    It needs the embedded PostgreSQL and the pagila tables, which `make run` starts and builds.
    A table the pipeline has not written yet is extracted when the lesson needs it.
    """)
    return


@app.cell
def _(mo):
    scale = mo.ui.slider(steps=[1, 10, 100], value=1, show_value=True, label="pagila scale factor")
    scale
    return (scale,)


@app.cell
def _(analytics, scale):
    source = analytics.prepare(scale.value, progress=print)
    return (source,)


@app.cell(hide_code=True)
def _(mo, source):
    mo.md(f"""
    At SF 1 the lesson reads the pipeline's own tables (namespace `pagila`, from the `pagila`
    database). Another scale is seeded once into its own database and namespace (here
    `{source.namespace}`; SF 100 took about a minute the first time on 2 cores, December 2026).

    ## Three paths to the same rows

    Each path is a DuckDB connection with one view per table, so the queries below are the same
    SQL on every path:

    | path | the view reads | what it costs |
    |---|---|---|
    | `iceberg` | `iceberg_scan(<metadata.json>)` | metadata, then only the files needed |
    | `parquet` | `read_parquet([...])`, the current files | nothing more, given the list |
    | `postgres` | the source, through DuckDB's postgres extension | every row over the wire |
    """)
    return


@app.cell
def _(analytics, duck, lakehouse, postgres, source):
    def _connect(path):
        """A DuckDB connection (in UTC) whose views payment, rental, ... read through `path`."""
        con = duck.connect()
        if path == "postgres":  # the source itself, rows sent over by DuckDB's postgres extension
            duck.attach_postgres(con, postgres.libpq_dsn(source.database), "source")
        for _table in analytics.TABLES:
            _identifier = f"{source.namespace}.{_table}"
            if path == "iceberg":  # the table's current metadata file: DuckDB plans the files
                _read = f"iceberg_scan({duck.literal(lakehouse.metadata_location(_identifier))})"
            elif path == "parquet":  # the current snapshot's files, as PyIceberg lists them
                _files = ", ".join(duck.literal(_f) for _f in analytics.data_files(_identifier))
                _read = f"read_parquet([{_files}], hive_partitioning = false)"
            else:
                _read = f'source.public."{_table}"'
            con.execute(f'create view "{_table}" as select * from {_read}')  # noqa: S608 - fixed names, quoted literals
        return con

    connections = {_path: _connect(_path) for _path in analytics.PATHS}
    {
        _path: _con.sql("select count(*) from payment").fetchone()[0]
        for _path, _con in connections.items()
    }
    return (connections,)


@app.cell(hide_code=True)
def _(analytics, mo):
    mo.vstack(
        [
            mo.md(
                "## Five reports\n\nRevenue by month, the top three films of every category, "
                "the customers worth the most, late returns by store, and a 7-day moving "
                "average (a window function). Open one to read its SQL:"
            ),
            mo.accordion(
                {
                    _name: mo.md(f"```sql\n{_sql.strip()}\n```")
                    for _name, _sql in analytics.QUERIES.items()
                }
            ),
        ]
    )
    return


@app.cell
def _(analytics, connections):
    results = {
        _path: {_name: _con.sql(_sql).df() for _name, _sql in analytics.QUERIES.items()}
        for _path, _con in connections.items()
    }
    same = {
        _name: all(results[_p][_name].equals(results["iceberg"][_name]) for _p in results)
        for _name in analytics.QUERIES
    }
    print(f"same on every path: {same}")
    same
    return results, same


@app.cell
def _(results):
    results["iceberg"]["revenue_by_month"]
    return


@app.cell(hide_code=True)
def _(mo, same):
    mo.md(f"""
    Every report is identical on the three paths: {all(same.values())}. The revenue by month
    above is what the promoted version of this lesson writes to `lessons.revenue_by_month`.

    ## Which path is fastest?

    Each query runs three times on each path; the median counts.
    """)
    return


@app.cell
def _(analytics, connections, pd):
    timings = pd.DataFrame(
        [_t for _path, _con in connections.items() for _t in analytics.time_queries(_con, _path)]
    )
    timings["ms"] = (timings["seconds"] * 1000).round(1)
    totals = timings.groupby("path")["seconds"].sum()
    return timings, totals


@app.cell
def _(alt, mo, timings, totals):
    _chart = (
        alt.Chart(timings)
        .mark_bar()
        .encode(
            x=alt.X("ms", title="milliseconds (median)"),
            y=alt.Y("path", title=None),
            color="path",
            row=alt.Row("query", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
        )
        .properties(width=420, height=60)
    )
    mo.vstack(
        [
            _chart,
            mo.md(
                f"The five queries together: Iceberg {totals['iceberg']:.2f} s, raw Parquet "
                f"{totals['parquet']:.2f} s, PostgreSQL {totals['postgres']:.2f} s "
                f"(Iceberg ÷ Parquet = {totals['iceberg'] / totals['parquet']:.2f}×)."
            ),
        ]
    )
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    What to notice: Iceberg's cost over the raw files is its metadata, a fixed price per table
    per query (the metadata file, the manifest list, the manifests). At SF 1 the tables are so
    small that this price shows; at SF 100 it vanishes in the work. `playground bench duckdb
    --scale 100` (measured in November 2026 on a 2-core Linux machine, DuckDB 1.5.5; run it to
    measure yours) took 1.20 s for the five queries through Iceberg, 1.24 s over raw Parquet
    (0.97×) and 3.25 s from PostgreSQL, which pays for sending every row to DuckDB. Drag the
    slider to 100 and watch the bars change places.

    ## Partition pruning

    `payment` is partitioned by month. Iceberg's manifests record each data file's partition
    and column bounds, so a one-month filter lets DuckDB skip every other month's file without
    opening it. `EXPLAIN ANALYZE` shows what the scan actually read.
    """)
    return


@app.cell
def _(analytics, connections, source):
    month_sql = analytics.month_query("2022-05")
    payment_files = len(analytics.data_files(f"{source.namespace}.payment"))
    pruning = {
        _path: analytics.files_read(connections[_path], month_sql)
        for _path in ("iceberg", "parquet")
    }
    pruning
    return month_sql, payment_files, pruning


@app.cell
def _(analytics, connections, month_sql, pd):
    pd.DataFrame(
        [
            {"path": _path, **_scan}
            for _path in ("iceberg", "parquet")
            for _scan in analytics.scans(connections[_path], month_sql)
        ]
    )
    return


@app.cell(hide_code=True)
def _(mo, payment_files, pruning):
    mo.md(f"""
    The Iceberg path read **{pruning["iceberg"]} of {payment_files}** data files of `payment`;
    the raw Parquet path opened {pruning["parquet"]} (it can skip row groups by their footers'
    statistics, but it must open every file to read those footers).

    ## Time travel

    Every Iceberg commit is a snapshot, and an old snapshot stays readable until it is expired.
    The next cell copies `category` into a table of its own, renames one category and deletes
    another, each a commit through PyIceberg.
    """)
    return


@app.cell
def _(lakehouse, pd, source):
    _catalog = lakehouse.catalog()
    history_table = "lessons.category_history"
    if _catalog.table_exists(history_table):
        _catalog.purge_table(history_table)  # start the story from scratch on every run
    _categories = lakehouse.read(f"{source.namespace}.category").select(["category_id", "name"])
    _catalog.create_namespace_if_not_exists("lessons")
    _table = _catalog.create_table(history_table, schema=_categories.schema)
    _table.append(_categories)  # commit 1: the copy
    _renamed = _categories.filter(_categories["category_id"].to_numpy() == 1)
    _renamed = _renamed.set_column(1, "name", [["Action & Adventure"]])
    _table.upsert(_renamed, join_cols=["category_id"])  # commit 2: category 1 renamed
    _table.delete("category_id == 16")  # commit 3: category 16 deleted
    history = lakehouse.snapshots(history_table, cat=_catalog)
    # Snapshot ids are 64-bit: shown as text, a table view would round them as floats.
    pd.DataFrame(history)[["snapshot_id", "operation", "total_records"]].astype(
        {"snapshot_id": str}
    )
    return history, history_table


@app.cell
def _(duck, history, history_table, lakehouse, pd):
    _con = duck.connect()
    _metadata = duck.literal(lakehouse.metadata_location(history_table))  # the newest metadata
    _rows = []
    for _number, _snapshot in enumerate(history, start=1):
        _as_of = f"iceberg_scan({_metadata}, snapshot_from_id => {int(_snapshot['snapshot_id'])})"
        _first = _con.sql(f"select name from {_as_of} where category_id = 1").fetchone()  # noqa: S608
        _count = _con.sql(f"select count(*) from {_as_of}").fetchone()[0]  # noqa: S608
        _rows.append(
            {
                "snapshot": _number,
                "operation": _snapshot["operation"],
                "categories": _count,
                "category 1": _first[0] if _first else "(absent)",
            }
        )
    travel = pd.DataFrame(_rows)
    travel
    return (travel,)


@app.cell(hide_code=True)
def _(mo, travel):
    mo.md(f"""
    DuckDB read each snapshot with `iceberg_scan(..., snapshot_from_id => id)`: the first has
    {travel["categories"].iloc[0]} categories, the last {travel["categories"].iloc[-1]}, and
    category 1 changed its name in between. Three changes made {len(travel)} snapshots:
    PyIceberg's upsert rewrites the file without the changed row (an `overwrite`) and then
    appends the new version (an `append`), two snapshots of one transaction. Readers of the
    current table never saw the moment between them, but time travel can: that is the snapshot
    where category 1 is absent. (DuckDB's `version => ...` parameter silently returns the current
    data for these tables; `snapshot_from_id` is the parameter that works.)

    ## Writing with DuckDB: the REST catalog

    DuckDB's Iceberg extension writes only through an **Iceberg REST catalog**, the HTTP
    protocol every engine speaks (Polaris, Lakekeeper, Glue, S3 Tables, Unity all serve it).
    Embedded mode's catalog is a SQL catalog in a SQLite file, which DuckDB cannot attach, so
    the views above are read-only:
    """)
    return


@app.cell
def _(connections):
    try:
        connections["iceberg"].execute("insert into category select * from category limit 1")
        refused = "the insert succeeded (unexpected)"
    except Exception as _error:  # DuckDB raises a CatalogException for a view
        refused = f"{type(_error).__name__}: {_error}"
    refused
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    The stack (`playground stack up`, or `docker compose up --wait`) runs a REST catalog in
    front of its catalog database: PyIceberg, Trino and DuckDB all commit through it. DuckDB
    attaches it as a database (`ATTACH ... AS lake (TYPE iceberg, ENDPOINT ...)`), and then
    `CREATE TABLE`, `INSERT`, `UPDATE`, `DELETE` and `MERGE INTO` on
    `lake.<namespace>.<table>` each commit an Iceberg snapshot. PostgreSQL is the yardstick:
    each step's SQL runs there too, on a table `wallet` of its own (database `lesson02_rest`),
    and the Iceberg table must hold what PostgreSQL's does. The cells below use the stack
    whenever its catalog answers, whatever `PLAYGROUND_MODE` says.
    """)
    return


@app.cell
def _(mo, writes):
    # None when the stack is not running: the cells below then show nothing and say so
    rest_stack, _why = writes.stack_catalog()
    if rest_stack is None:
        print(f"rest: skipped, {_why}")
        _said = mo.callout(
            mo.md(
                f"**The stack is not running**, so the REST catalog cells below are empty: "
                f"{_why}.\n\nStart it with `.venv/bin/playground stack up` (or `docker compose "
                "up --wait`), then run this cell again."
            ),
            kind="warn",
        )
    else:
        _said = mo.md(f"The stack's REST catalog answers at `{rest_stack.catalog_uri}`.")
    _said
    return (rest_stack,)


@app.cell
def _(duck, rest_stack):
    # DuckDB attaches the stack's REST catalog as the database `lake`; duck.connect made the S3
    # secret with which it writes data files to the stack's bucket
    rest = duck.connect(settings=rest_stack) if rest_stack else None
    if rest:
        rest.execute(
            f"ATTACH OR REPLACE {duck.literal(rest_stack.catalog_name)} AS lake "
            f"(TYPE iceberg, ENDPOINT {duck.literal(rest_stack.catalog_uri)}, "
            f"TOKEN {duck.literal(rest_stack.catalog_token)})"  # the catalog asks for a login
        )
    return (rest,)


@app.cell
def _(Decimal, ServiceUnavailable, lakehouse, pa, pd, rest, rest_stack, trino, writes):
    # lake.lesson02_rest.wallet: the attached catalog, the namespace, the table
    duckdb_writes = {
        "create the table":
            "create table lake.lesson02_rest.wallet "
            "(id bigint, owner varchar, balance decimal(10, 2))",
        "insert three rows":
            "insert into lake.lesson02_rest.wallet "
            "values (1, 'ana', 10.00), (2, 'ben', 20.00), (3, 'cai', 30.00)",
        "update one row":
            "update lake.lesson02_rest.wallet set balance = balance + 5 where id = 2",
        "delete one row": "delete from lake.lesson02_rest.wallet where id = 3",
        "merge: update ana, insert dee":
            "merge into lake.lesson02_rest.wallet w "
            "using (values (1, 'ana', 1.00), (4, 'dee', 40.00)) s(id, owner, balance) "
            "on w.id = s.id "
            "when matched then update set balance = w.balance + s.balance "
            "when not matched then insert values (s.id, s.owner, s.balance)",
    }  # fmt: skip
    # the log purges the table of a previous run; after each step it reads the table with
    # PyIceberg and Trino, and runs the same SQL on PostgreSQL's table `wallet` to compare
    log = writes.Log(rest_stack) if rest else None
    if log:
        for _action, _sql in duckdb_writes.items():
            rest.execute(_sql)  # each statement is a transaction: it commits a snapshot
            log.step("duckdb", _action, _sql)
        # Trino writes the same table through the same catalog ...
        _sql = "update iceberg.lesson02_rest.wallet set balance = balance * 2 where id = 1"
        try:
            trino.execute(_sql, settings=rest_stack)
            log.step("trino", "double ana's balance", _sql)
        except ServiceUnavailable:
            print("rest: Trino is not running: its step is left out")
        # ... and so does PyIceberg
        _table = lakehouse.catalog(rest_stack).load_table("lesson02_rest.wallet")
        _eve = {"id": [5], "owner": ["eve"], "balance": [Decimal("50.00")]}
        _table.append(pa.table(_eve, schema=_table.schema().as_arrow()))
        log.step("pyiceberg", "append eve", "table.append(pa.table(eve))",
                 twin="insert into lake.lesson02_rest.wallet values (5, 'eve', 50.00)")  # fmt: skip
    steps = log.steps if log else []
    pd.DataFrame(
        [
            {"engine": s.engine, "step": s.action, "statement": s.statement,
             "PyIceberg reads": s.pyiceberg, "Trino reads": s.trino,
             "PostgreSQL holds": s.postgres, "the same": s.same}
            for s in steps
        ]
    )  # fmt: skip
    return (steps,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Five DuckDB statements, one Trino `UPDATE`, one PyIceberg append: after each, PyIceberg and
    Trino read the rows in the Iceberg table (a blank Trino column means Trino is not running),
    and the last column says whether they are the rows PostgreSQL holds after the same SQL.
    Each write is a snapshot; here is what each engine left in the table, from the snapshots'
    summaries:
    """)
    return


@app.cell
def _(pd, rest_stack, steps, writes):
    pd.DataFrame(writes.snapshots(rest_stack, steps) if rest_stack else [])
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Read it from the top. DuckDB's `UPDATE` and `DELETE` rewrite nothing: they add **delete
    files** that mark rows as gone (merge-on-read), and an update adds the new version in a
    data file beside it. Its `MERGE` commits **two snapshots** in one transaction: an
    `overwrite` for the matched row, an `append` for the new one. Trino's `UPDATE` does the
    same as DuckDB's, and PyIceberg's append only adds a data file. Every reader applies the
    delete files, so all three see the same rows; a compaction (Trino's `optimize`) would
    fold them away. (Older DuckDB releases refused a `DELETE` on a partitioned table and a
    `MERGE` with both an update and an insert; the DuckDB here, 1.5.5, does both.)

    **Two engines at once.** Each commit says which snapshot it started from; the catalog
    accepts it only if that is still the head of the branch. Below, DuckDB opens a transaction
    and inserts, PyIceberg appends and commits meanwhile, then DuckDB commits:
    """)
    return


@app.cell
def _(Decimal, duckdb, lakehouse, mo, pa, rest, rest_stack, steps, writes):
    # DuckDB opens a transaction and inserts fay; PyIceberg appends gus and commits meanwhile
    collision = None
    if rest and steps:
        _fay = "insert into lake.lesson02_rest.wallet values (6, 'fay', 6.00)"
        _gus_sql = "insert into lake.lesson02_rest.wallet values (7, 'gus', 7.00)"
        _table = lakehouse.catalog(rest_stack).load_table("lesson02_rest.wallet")
        _gus = {"id": [7], "owner": ["gus"], "balance": [Decimal("7.00")]}
        rest.execute("begin")
        rest.execute(_fay)
        _table.append(pa.table(_gus, schema=_table.schema().as_arrow()))  # PyIceberg commits first
        try:
            rest.execute("commit")
            _refused = ""
        except duckdb.Error as _error:  # the catalog refuses a commit made on a stale snapshot
            _refused = str(_error)
        _after_conflict = writes.ids(rest_stack)
        rest.execute(_fay)  # the retry: a new transaction, on the new head
        _after_retry = writes.ids(rest_stack)
        # PostgreSQL, the same race: fay in an open transaction, gus committed meanwhile
        _postgres = writes.two_writers_in_postgres(_fay, _gus_sql)
        collision = {"refused": _refused, "after the conflict": _after_conflict,
                     "after the retry": _after_retry, "PostgreSQL": _postgres}  # fmt: skip
        print(f"rest: duckdb's commit refused: {'Conflict_409' in _refused}")
        print(f"rest: ids after the conflict {_after_conflict}, after the retry {_after_retry}, "
              f"equals PostgreSQL: {_after_retry == _postgres}")  # fmt: skip
    # DuckDB's error as it says it, one line per line (wrapped, not cut off)
    _text = collision["refused"] if collision else ""
    _lines = [f"`{_line.strip()}`" for _line in _text.splitlines() if _line.strip()]
    _said = mo.md("  \n".join(_lines) or "DuckDB's commit went through: nothing refused it")
    mo.callout(_said, kind="danger") if collision else mo.md("(runs when the stack does)")
    return (collision,)


@app.cell(hide_code=True)
def _(collision, mo):
    _waiting = "(shown when the stack runs)"
    _after = collision["after the conflict"] if collision else _waiting
    _retry = collision["after the retry"] if collision else _waiting
    _postgres = collision["PostgreSQL"] if collision else _waiting
    _same = (
        ("**the same rows**" if collision and _retry == _postgres else "**not the same rows**")
        if collision
        else "(compared when the stack runs)"
    )
    mo.md(f"""
    The catalog refused DuckDB's commit (its error, above, names the HTTP status) and DuckDB
    rolled its transaction back: after it the table holds ids {_after}, PyIceberg's row in,
    DuckDB's not, and nothing half-written. DuckDB does not retry: run the transaction again
    (here, the insert alone) and it lands on the new head: {_retry}.

    PostgreSQL, given the same race (fay inserted in an open transaction, gus committed from
    another connection meanwhile), takes both: its row locks let two inserts commit, and its
    table holds ids {_postgres}. Iceberg's catalog cannot merge two commits; the writer that
    lost has to run again. After the retry the two hold {_same}.
    PyIceberg, in DuckDB's spot, retries an append by itself (up to 4 times, the table property
    `commit.retry.num-retries`), because an append cannot conflict with anything.
    """)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    In embedded mode the division of labour is: DuckDB computes, Arrow carries the result,
    PyIceberg commits it.
    That is how the next cell stores the revenue report as an Iceberg table (one commit, which
    Trino and every other engine on this catalog can read):
    """)
    return


@app.cell
def _(connections, lakehouse):
    _report = connections["iceberg"].sql(
        "select strftime(date_trunc('month', payment_date), '%Y-%m') as month, "
        "count(*) as payments, sum(amount) as revenue from payment group by 1 order by 1"
    )
    _written = lakehouse.write_table("lessons.revenue_by_month", _report.arrow())
    print(f"wrote lessons.revenue_by_month with {_written.scan().to_arrow().num_rows} rows")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Exercises

    Each exercise has a box for your answer and a check under it that runs whenever you change
    the answer: ✅ when it matches what the tables and the catalog say, ❌ with a hint otherwise.

    **1. A sixth report: the revenue of each staff member by month.** Write it over the views
    above (three columns: staff, month, revenue); the check runs it on the Iceberg path and
    compares it with the sums of the same table read by another reader (PyIceberg).
    """)
    return


@app.cell
def _(mo):
    # Exercise 1: your query over the lesson's views (payment, rental, ...)
    staff_query = mo.ui.text_area(placeholder="select staff_id, ... from payment ...", rows=6,
                                  label="your query", full_width=True)  # fmt: skip
    staff_query
    return (staff_query,)


@app.cell
def _(connections, lesson, source, staff_query):
    lesson.STAFF.show(staff_query.value, con=connections["iceberg"], source=source)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **2. How many data files of `payment` does a query on February 2022 read through Iceberg?**
    Change the month of the pruning query above to `2022-02` and read its plan.
    """)
    return


@app.cell
def _(mo):
    # Exercise 2: the number of files
    files_read = mo.ui.number(start=0, stop=1000, step=1, label="data files read")
    files_read
    return (files_read,)


@app.cell
def _(files_read, lesson, source):
    lesson.FILES.show(files_read.value or None, source=source)  # 0: not answered yet
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Recap

    DuckDB queries the lakehouse in place: through Iceberg it pays only for metadata, gains
    file pruning and time travel, and reads exactly the current snapshot, while raw Parquet
    needs the file list from someone who knows it, and PostgreSQL pays for moving every row.
    DuckDB reads embedded mode's catalog through views; on the stack it writes through the
    REST catalog like PyIceberg and Trino, and the catalog refuses a commit made on a stale
    snapshot. The same helpers are in
    `playground.bench.analytics`; `playground bench duckdb --scale 100` measures the three paths.

    Next: [lesson 03, Trino CRUD on Iceberg](?file=03_trino_crud.py), the same tables through a
    distributed engine that can write them.
    """)
    return


if __name__ == "__main__":
    app.run()
