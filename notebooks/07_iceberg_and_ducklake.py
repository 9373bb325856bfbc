# /// script
# requires-python = ">=3.11"
# ///

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Lesson 07: Iceberg beside DuckLake")


@app.cell
def _():
    from datetime import UTC, datetime

    import marimo as mo
    import pandas as pd
    from pyiceberg.types import StringType

    from playground import lakehouse
    from playground.engines import duck
    from playground.lessons import ducklake, exercises

    return StringType, UTC, datetime, duck, ducklake, exercises, lakehouse, mo, pd


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # Iceberg beside DuckLake

    Previous: [lesson 06, when things break](?file=06_when_things_break.py).

    Two open table formats keep a lakehouse table as Parquet files plus a record of which files
    make up which version. **Iceberg** keeps that record in metadata files next to the data
    (a JSON file, manifest lists, manifests) and asks its catalog for one thing only: a pointer
    to the current metadata file. **DuckLake** keeps the whole record in a SQL database: every
    snapshot, schema and file is a row, and a commit is one database transaction.

    Here the same pagila payments (April and May 2022) go into both, and every figure below is
    measured as the lesson runs. Where each lives depends on the mode:

    | | embedded mode | stack mode (`PLAYGROUND_MODE=stack`) |
    |---|---|---|
    | Iceberg's catalog | this project's SQL catalog (SQLite) | the stack's REST catalog |
    | Iceberg's files | `warehouse/` of the data directory | the stack's bucket |
    | DuckLake's catalog | the embedded PostgreSQL | the stack's PostgreSQL |
    | DuckLake's files | `lesson07/ducklake/` of the data directory | the same, in the bucket |

    DuckLake's catalog is a PostgreSQL database of its own, `lesson07_ducklake`, in either.

    Iceberg is written through PyIceberg, DuckLake through DuckDB. Each run starts again from
    empty: the catalog database, the folder and the lesson's Iceberg namespace are recreated.
    """)
    return


@app.cell
def _(ducklake, mo):
    # Plumbing: pagila seeded if missing; DuckLake's catalog database and folder and the
    # Iceberg namespace `lesson07` emptied, so every run starts from the same place.
    setup = ducklake.prepare()
    # DuckDB in UTC, ducklake loaded, pagila attached as `pg`; on the stack, with an S3 secret
    # for the bucket
    con = ducklake.connect(setup)
    mo.md(f"Mode: **{setup.settings.mode}**; DuckLake's files go to `{setup.data_path}`.")
    return con, setup


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Attaching DuckLake

    A DuckLake is attached like a database: `ducklake:` and the catalog's connection string,
    and where its Parquet files go (a folder, or an `s3://` prefix that DuckDB writes with the
    connection's S3 secret). On the stack the connection string names a password file, not the
    password.
    `DATA_INLINING_ROW_LIMIT 10` lets a write of up to ten rows
    stay in the catalog itself instead of becoming a file (more on that below).
    """)
    return


@app.cell
def _(con, duck, setup):
    _catalog = duck.literal("ducklake:postgres:" + setup.catalog_dsn)
    _files = duck.literal(str(setup.data_path))
    con.execute(f"ATTACH {_catalog} AS lake (DATA_PATH {_files}, DATA_INLINING_ROW_LIMIT 10)")
    con.sql("select * from ducklake_snapshots('lake')").df()
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## The first load

    The same rows into both, from PostgreSQL (DuckDB reads it through the `pg` attachment):
    """)
    return


@app.cell
def _(con, ducklake, lakehouse, setup):
    con.execute("""create or replace temp view two_months as
        select * from pg.public.payment
        where payment_date >= timestamptz '2022-04-01 00:00:00+00'
          and payment_date <  timestamptz '2022-06-01 00:00:00+00'""")
    con.execute("create table lake.payment as select * from two_months")
    iceberg_name = ducklake.iceberg_table(setup, "payment")
    _rows = con.sql("from two_months").to_arrow_table()
    iceberg = lakehouse.catalog(setup.settings).create_table(iceberg_name, schema=_rows.schema)
    iceberg.append(_rows)
    loaded = {
        "DuckLake": con.sql("select count(*) from lake.payment").fetchone()[0],
        "Iceberg": iceberg.scan().to_arrow().num_rows,
    }
    print(f"first load: {loaded}")
    loaded
    return iceberg, iceberg_name


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## One row

    A shop writes one row at a time more often than a month at a time. One new payment, into
    each table: the milliseconds, the files it left in the table's folder, and what it wrote
    to the catalog (for DuckLake, rows added to its catalog tables; for Iceberg, the catalog's
    pointer to the current metadata file moving).
    """)
    return


@app.cell
def _(con, ducklake, iceberg, pd, setup):
    ONE_ROW = """select 900001 as payment_id, 1 as customer_id, 1 as staff_id, 1 as rental_id,
        4.99::decimal(5, 2) as amount, timestamptz '2022-06-15 12:00:00+00' as payment_date"""
    with ducklake.lake_measured(setup) as lake_insert:
        con.execute(f"insert into lake.payment {ONE_ROW}")
    with ducklake.iceberg_measured(iceberg, setup.settings) as iceberg_insert:
        iceberg.append(con.sql(ONE_ROW).to_arrow_table().cast(iceberg.schema().as_arrow()))
    one_row = pd.DataFrame({"DuckLake": lake_insert, "Iceberg": iceberg_insert})
    print(f"one row: ducklake files {lake_insert['files added']}, "
          f"iceberg files {iceberg_insert['files added']}")  # fmt: skip
    one_row
    return iceberg_insert, lake_insert


@app.cell(hide_code=True)
def _(iceberg_insert, lake_insert, mo):
    mo.md(f"""
    Iceberg wrote {iceberg_insert["files added"]} files for one row: the Parquet file, a
    manifest, a manifest list and a new metadata file. DuckLake wrote
    {lake_insert["files added"]}: the row was **inlined**, kept in a catalog table, and the
    snapshot that records it is {lake_insert["catalog writes"]} rows in PostgreSQL. Every reader
    sees it at once. A thousand such writes make a thousand tiny files in Iceberg (until a
    compaction), and none in DuckLake until you flush:
    """)
    return


@app.cell
def _(con, ducklake, setup):
    with ducklake.lake_measured(setup) as flushed:
        con.execute("call ducklake_flush_inlined_data('lake')")
    print(f"flush: ducklake files {flushed['files added']}")
    flushed
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    The flush wrote the inlined rows into one Parquet file, as a commit of its own.

    ## A month replaced

    May's payments loaded again, as a pipeline does when it reruns a month: the old rows
    deleted and the new ones inserted, in one transaction (one commit) in each format.
    """)
    return


@app.cell
def _(UTC, con, datetime, ducklake, iceberg, pd, setup):
    may = {"start": datetime(2022, 5, 1, tzinfo=UTC), "end": datetime(2022, 6, 1, tzinfo=UTC)}
    with ducklake.lake_measured(setup) as lake_month:
        con.execute("begin")
        con.execute(
            "delete from lake.payment where payment_date >= $start and payment_date < $end", may
        )
        con.execute(
            "insert into lake.payment select * from two_months "
            "where payment_date >= $start and payment_date < $end",
            may,
        )
        con.execute("commit")
    _rows = con.execute(
        "select * from two_months where payment_date >= $start and payment_date < $end", may
    ).to_arrow_table()
    with ducklake.iceberg_measured(iceberg, setup.settings) as iceberg_month:
        # one transaction: the rows the filter matches deleted, the new ones appended
        iceberg.overwrite(_rows, overwrite_filter=(
            f"payment_date >= '{may['start'].isoformat()}' "
            f"and payment_date < '{may['end'].isoformat()}'"
        ))  # fmt: skip
    pd.DataFrame({"DuckLake": lake_month, "Iceberg": iceberg_month})
    return (may,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Did each format end with PostgreSQL's payments? Each table's two months (April and May)
    against PostgreSQL's, row by row, both ways: rows PostgreSQL has that the table lacks, and
    rows the table has that PostgreSQL does not.
    """)
    return


@app.cell
def _(UTC, con, datetime, ducklake, iceberg_name, lakehouse, may, setup):
    # Iceberg, as it is now (DuckDB reads the metadata file the catalog points to)
    lakehouse.register_duckdb_view(con, iceberg_name, "iceberg_payment", setup.settings)
    _april = datetime(2022, 4, 1, tzinfo=UTC)
    compared = {
        _name: str(ducklake.payment_differences(con, _relation, _april, may["end"]))
        for _name, _relation in (("DuckLake", "lake.payment"), ("Iceberg", "iceberg_payment"))
    }
    print(f"April and May against PostgreSQL: {compared}")
    compared
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Time travel

    Every commit is a snapshot in both formats. DuckLake numbers them (`AT (VERSION => n)`);
    Iceberg gives each a 64-bit id. Each snapshot of each table, and the rows it held:
    """)
    return


@app.cell
def _(con, iceberg_name, lakehouse, pd):
    lake_history = con.sql(
        "select snapshot_id as version, changes from ducklake_snapshots('lake') order by 1"
    ).df()
    lake_history["rows"] = [
        con.sql(f"select count(*) from lake.payment at (version => {int(_v)})").fetchone()[0]  # noqa: S608 (a number)
        if _v > 0
        else None  # version 0: the ATTACH, before the table existed
        for _v in lake_history["version"]
    ]
    iceberg_history = pd.DataFrame(lakehouse.snapshots(iceberg_name))
    iceberg_history["rows"] = [
        lakehouse.read(iceberg_name, snapshot_id=_s).num_rows
        for _s in iceberg_history["snapshot_id"]
    ]
    iceberg_history = iceberg_history.astype({"snapshot_id": str})[
        ["snapshot_id", "operation", "rows"]
    ]
    mo_tables = {"DuckLake": lake_history, "Iceberg": iceberg_history}
    return iceberg_history, lake_history, mo_tables


@app.cell
def _(mo, mo_tables):
    mo.hstack([mo.vstack([mo.md(f"**{_k}**"), _v]) for _k, _v in mo_tables.items()])
    return


@app.cell(hide_code=True)
def _(iceberg_history, lake_history, mo):
    mo.md(f"""
    DuckLake has {len(lake_history)} versions (version 0 is the empty catalog the ATTACH made),
    Iceberg {len(iceberg_history)} snapshots. PyIceberg's month replace is a delete and an
    append in one transaction, two snapshots; DuckLake's is one.

    ## Schema evolution

    A column added to each table: no data file is rewritten in either format.
    """)
    return


@app.cell
def _(StringType, con, ducklake, iceberg, pd, setup):
    with ducklake.lake_measured(setup) as lake_column:
        con.execute("alter table lake.payment add column note varchar")
    with ducklake.iceberg_measured(iceberg, setup.settings) as iceberg_column:
        with iceberg.update_schema() as _update:
            _update.add_column("note", StringType())
    columns = {
        "DuckLake": [r[0] for r in con.sql("describe lake.payment").fetchall()],
        "Iceberg": [f.name for f in iceberg.schema().fields],
    }
    print(f"columns: {columns}")
    pd.DataFrame({"DuckLake": lake_column, "Iceberg": iceberg_column})
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Iceberg's change is one new metadata file; DuckLake's, a few catalog rows. Old snapshots
    keep their old schema: `AT (VERSION => 1)` has no `note` column.

    ## Snapshots expired, files cleaned

    Time travel costs storage: a file a snapshot still needs stays. Expiring a snapshot gives
    up travelling to it; removing the files only it needed is a second step. Below, both keep
    the first load's snapshot and the current one and expire the rest. DuckLake first
    merges its small files (`ducklake_merge_adjacent_files`, a compaction), so that the old
    ones are needed by old snapshots only.
    """)
    return


@app.cell
def _(con, ducklake, iceberg, iceberg_name, lakehouse, pd, setup):
    # Expire every snapshot but the first load's and the current one (kept to travel to).
    _lake = {"files before": ducklake.files(setup.data_path, setup.settings)}
    con.execute("call ducklake_merge_adjacent_files('lake')")  # compaction: small files merged
    _old = [_v for (_v,) in con.sql(
        "select snapshot_id from ducklake_snapshots('lake') where snapshot_id <> 1 "
        "and snapshot_id < (select max(snapshot_id) from ducklake_snapshots('lake'))"
    ).fetchall()]  # fmt: skip
    _lake["snapshots expired"] = len(
        con.sql(f"call ducklake_expire_snapshots('lake', versions => {_old})").fetchall()
    )
    _lake["files deleted"] = len(
        con.sql("call ducklake_cleanup_old_files('lake', cleanup_all => true)").fetchall()
    )
    _lake["files after"] = ducklake.files(setup.data_path, setup.settings)
    _table = lakehouse.catalog(setup.settings).load_table(iceberg_name)
    _ice = {"files before": ducklake.files(iceberg.location(), setup.settings)}
    _ids = [_s.snapshot_id for _s in _table.snapshots()]
    _table.maintenance.expire_snapshots().by_ids(_ids[1:-1]).commit()
    _ice["snapshots expired"] = len(_ids) - len(
        lakehouse.catalog(setup.settings).load_table(iceberg_name).snapshots()
    )
    _ice["files deleted"] = 0  # PyIceberg has no file cleanup: see below
    _ice["files after"] = ducklake.files(iceberg.location(), setup.settings)
    cleaned = {"DuckLake": _lake, "Iceberg": _ice}
    print(f"cleaned: {cleaned}")
    pd.DataFrame(cleaned)
    return (cleaned,)


@app.cell(hide_code=True)
def _(cleaned, mo):
    mo.md(f"""
    DuckLake expired {cleaned["DuckLake"]["snapshots expired"]} snapshots and its cleanup
    deleted {cleaned["DuckLake"]["files deleted"]} files that no snapshot left needs. PyIceberg
    expired {cleaned["Iceberg"]["snapshots expired"]} snapshots from the metadata, but it
    deletes no file: its folder went from {cleaned["Iceberg"]["files before"]} to
    {cleaned["Iceberg"]["files after"]} files (the expiry wrote a metadata file of its own).
    With Iceberg the cleanup is another engine's job: Trino's `expire_snapshots` and
    `remove_orphan_files`, or Spark's procedures.

    ## Who reads each

    - **Iceberg**: Trino (lesson 03), Spark, Flink, DuckDB, PyIceberg, Snowflake, BigQuery,
      Athena and more, through a catalog they share. In embedded mode that catalog is a SQLite
      file only PyIceberg opens (DuckDB reads the tables through views of their metadata
      files); on the stack it is the REST catalog, and Trino reads this lesson's
      `iceberg.lesson07.payment` as it reads the pipeline's tables.
    - **DuckLake**: DuckDB only, with the `ducklake` extension (1.5.5, the version this project
      pins), in both modes. In embedded mode its catalog is in the embedded PostgreSQL and its
      files under the data directory; on the stack, in the stack's PostgreSQL and bucket, where
      Trino, which shares that PostgreSQL and bucket, still cannot read it: Trino has no
      DuckLake connector. The catalog is plain SQL tables, so any PostgreSQL client (psql,
      psycopg) can inspect the metadata, and any S3 client can list the files,
      but only DuckDB turns them into rows.
    """)
    return


@app.cell
def _(con):
    # DuckLake's record of the table, as plain rows (DuckDB reads them; PostgreSQL stores them)
    con.sql(
        "select data_file, data_file_size_bytes, delete_file "
        "from ducklake_list_files('lake', 'payment')"
    ).df()
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Exercises

    **1. The first load, read back in time.** Write a query over `lake.payment` that counts
    its rows as they were right after the first load (the `CREATE TABLE ... AS`), before the
    one-row insert. The check counts the same months in PostgreSQL.
    """)
    return


@app.cell
def _(exercises):
    # Exercise 1: your query, one row with one number
    first_query = exercises.query_box("select count(*) from lake.payment ...", rows=3)
    first_query
    return (first_query,)


@app.cell
def _(con, ducklake, first_query, setup):
    ducklake.FIRST.show(first_query.value, con=con, setup=setup)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **2. May's revenue by staff in DuckLake.** After the month replace, write a query over
    `lake.payment` with two columns, `staff_id` and the revenue of May 2022 (UTC). The check
    sums the source in PostgreSQL.
    """)
    return


@app.cell
def _(exercises):
    # Exercise 2: your query, (staff_id, revenue)
    may_query = exercises.query_box("select staff_id, ... from lake.payment ...", rows=6)
    may_query
    return (may_query,)


@app.cell
def _(con, ducklake, may_query, setup):
    ducklake.MAY.show(may_query.value, con=con, setup=setup)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## When to choose which

    - **Choose Iceberg** when more than one engine must read or write the tables (Trino, Spark,
      a warehouse, another team's tool), when the catalog is a managed service (Glue, Polaris,
      S3 Tables, Unity), or when the tables are large and written in batches.
    - **Choose DuckLake** when DuckDB is the engine, writes are small and frequent (inlining
      keeps them out of the object store until a flush), and a SQL database you already run can
      hold the catalog: a commit is one transaction, and the metadata is a query away.
    - Both give snapshots, time travel, schema evolution and partitioned Parquet; the
      difference is where the metadata lives and who can read it.

    All lessons: [the lesson list](./).
    """)
    return


if __name__ == "__main__":
    app.run()
