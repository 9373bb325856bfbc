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
    import altair as alt
    import marimo as mo
    import pandas as pd

    from playground import lakehouse
    from playground.bench import analytics
    from playground.engines import duck
    from playground.lessons import duckdb_lakehouse as lesson
    from playground.lessons import duckdb_writes as writes
    from playground.services import postgres

    return alt, analytics, duck, lakehouse, lesson, mo, pd, postgres, writes


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
    attaches it as a database (`duck.attach_lakehouse` runs `ATTACH ... (TYPE iceberg,
    ENDPOINT ...)`), and then `CREATE TABLE`, `INSERT`, `UPDATE`, `DELETE` and `MERGE INTO`
    on `lake.<namespace>.<table>` each commit an Iceberg snapshot. The cells below use the
    stack whenever its catalog answers, whatever `PLAYGROUND_MODE` says.
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
def _(pd, rest_stack, writes):
    steps = writes.walk(rest_stack) if rest_stack else []
    pd.DataFrame(
        [
            {"engine": s.engine, "step": s.action, "statement": s.statement,
             "PyIceberg reads": s.pyiceberg, "Trino reads": s.trino}
            for s in steps
        ]
    )  # fmt: skip
    return (steps,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Five DuckDB statements, one Trino `UPDATE`, one PyIceberg append: after each, PyIceberg and
    Trino read the same rows (a blank Trino column means Trino is not running). Each write is
    a snapshot; here is what each engine left in the table, from the snapshots' summaries:
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
def _(mo, rest_stack, writes):
    collision = writes.collide(rest_stack) if rest_stack else None
    if collision:
        print(f"rest: duckdb's commit refused: {'Conflict_409' in collision.refused}")
        print(f"rest: ids after the conflict {collision.after_conflict}, "
              f"after the retry {collision.after_retry}")  # fmt: skip
    # DuckDB's error as it says it, one line per line (wrapped, not cut off)
    _text = collision.refused if collision else ""
    _lines = [f"`{_line.strip()}`" for _line in _text.splitlines() if _line.strip()]
    mo.callout(mo.md("  \n".join(_lines)), kind="danger") if collision else mo.md(
        "(runs when the stack does)"
    )
    return (collision,)


@app.cell(hide_code=True)
def _(collision, mo):
    _after = collision.after_conflict if collision else "(shown when the stack runs)"
    _retry = collision.after_retry if collision else "(shown when the stack runs)"
    # DuckDB's row is the one its retry added: in the table after the retry, not before
    _duck = sorted(set(collision.after_retry) - set(collision.after_conflict)) if collision else []
    mo.md(f"""
    The catalog refused DuckDB's commit (its error, above, names the HTTP status) and DuckDB
    rolled its transaction back: after it the table holds ids {_after}, with PyIceberg's row
    and without DuckDB's {_duck}, and nothing half-written.
    DuckDB does not retry: run the transaction again (here, the insert alone) and it lands on
    the new head: {_retry}. PyIceberg, in the same spot,
    retries an append by itself (up to 4 times, the table property
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
