# /// script
# requires-python = ">=3.11"
#
# [tool.playground.promote]
# deps = ["pagila/payment"]
# writes = "lessons.io_manager_timings"
# ///

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Lesson 04: IO managers")


@app.cell
def _():
    import shutil
    import time

    import altair as alt
    import dagster as dg
    import marimo as mo
    import pandas as pd
    import pyarrow as pa
    from dagster_duckdb_pandas import DuckDBPandasIOManager

    from playground import lakehouse
    from playground.bench import analytics
    from playground.config.settings import ServiceUnavailable, get_settings
    from playground.engines import duck, trino
    from playground.lessons import io_managers as lesson
    from playground.orchestration.defs.pagila.assets import monthly
    from playground.orchestration.io.iceberg import ArrowIcebergIOManager
    from playground.orchestration.io.parquet import PartitionedParquetIOManager
    from playground.orchestration.io.trino import TrinoIcebergIOManager

    return (
        ArrowIcebergIOManager,
        DuckDBPandasIOManager,
        PartitionedParquetIOManager,
        ServiceUnavailable,
        TrinoIcebergIOManager,
        alt,
        analytics,
        dg,
        duck,
        get_settings,
        lakehouse,
        lesson,
        mo,
        monthly,
        pa,
        pd,
        shutil,
        time,
        trino,
    )


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # What Dagster does between assets: IO managers

    An asset function returns a value; something has to store it, and load it again for the
    assets downstream. That something is an **IO manager**: two methods, `handle_output` and
    `load_input`, which Dagster calls with a *context* telling them which asset and which
    partition they are handling. In this lesson you write one, watch Dagster call it, then run the
    playground's own IO managers side by side on the same partitioned asset and see where each
    puts the data and what re-materializing a month replaces.

    It reads pagila's `payment` table from the lakehouse (`make run` builds it; the next cell
    extracts it if it is missing). In stack mode with Trino running, the Trino IO manager joins
    the comparison.
    """)
    return


@app.cell
def _(analytics):
    pagila = analytics.prepare(1)
    f"payments from the lakehouse table {pagila.namespace}.payment"
    return (pagila,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## The smallest IO manager

    This one keeps outputs in a dictionary and records every call with the context fields an IO
    manager decides by: the asset key, the partition key and the asset's metadata.
    """)
    return


@app.cell
def _(dg):
    class DictIOManager(dg.IOManager):
        def __init__(self):
            self.stored, self.calls = {}, []

        def _record(self, method, context):
            partition = context.partition_key if context.has_partition_key else None
            metadata = getattr(context, "definition_metadata", None) or {}
            asset = context.asset_key.to_user_string()
            self.calls.append({"method": method, "asset": asset, "partition": partition,
                               "metadata": str(dict(metadata))})  # fmt: skip
            return (context.asset_key, partition)

        def handle_output(self, context, obj):
            self.stored[self._record("handle_output", context)] = obj

        def load_input(self, context):
            return self.stored[self._record("load_input", context)]

    return (DictIOManager,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Dagster builds the contexts itself during a run; `build_output_context` and
    `build_input_context` build the same objects by hand, which is how you call an IO manager
    directly (and how the playground's tests do):
    """)
    return


@app.cell
def _(DictIOManager, dg, pd):
    _manager = DictIOManager()
    _key = dg.AssetKey(["lessons_io", "answer"])
    _out = dg.build_output_context(asset_key=_key, definition_metadata={"owner": "you"})
    _manager.handle_output(_out, pd.DataFrame({"answer": [42]}))
    _loaded = _manager.load_input(dg.build_input_context(asset_key=_key, upstream_output=_out))
    pd.DataFrame(_manager.calls).assign(loaded=str(_loaded.to_dict("records")))
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## A partitioned asset and its downstream

    `payments` holds one month of pagila's payments per partition (the pipeline's monthly
    partitions), read from the lakehouse; `daily_revenue` sums them by day. Its parameter
    `payments` is the upstream asset: Dagster asks the IO manager to load it. `partition_expr`
    names the column a partition covers, for the IO managers that delete a slice before writing.
    `make_assets(prefix)` builds both under a key prefix of your choice; `utc=True` gives them
    the column converted to UTC instead (`timezone('UTC', payment_date)`), which the DuckDB IO
    manager needs below.
    """)
    return


@app.cell
def _(dg, lakehouse, monthly, pagila, pd):
    def make_assets(prefix: str, utc: bool = False) -> list:
        def _expr(column: str) -> str:
            return f"timezone('UTC', {column})" if utc else column

        @dg.asset(key_prefix=prefix, partitions_def=monthly,
                  metadata={"partition_expr": _expr("payment_date")})  # fmt: skip
        def payments(context: dg.AssetExecutionContext) -> pd.DataFrame:
            window = context.partition_time_window
            where = lakehouse.window_filter("payment_date", window.start, window.end)
            return lakehouse.read(f"{pagila.namespace}.payment", where=where).to_pandas()

        @dg.asset(key_prefix=prefix, partitions_def=monthly,
                  metadata={"partition_expr": _expr("day")})  # fmt: skip
        def daily_revenue(payments: pd.DataFrame) -> pd.DataFrame:
            days = payments["payment_date"].dt.floor("D")
            return (
                payments.groupby(days)["amount"]
                .sum()
                .astype(float)
                .rename_axis("day")
                .reset_index()
            )

        return [payments, daily_revenue]

    # Runs log only warnings here: the run's events are not the lesson.
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    return make_assets, quiet


@app.cell
def _(DictIOManager, dg, make_assets, pd, quiet):
    _manager = DictIOManager()
    _run = dg.materialize(make_assets("lessons_io"), resources={"io_manager": _manager},
                          partition_key="2022-05-01", run_config=quiet)  # fmt: skip
    pd.DataFrame(_manager.calls).assign(run_succeeded=_run.success)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    What to notice: Dagster called `handle_output` for `payments`, then `load_input` with the
    *same* key and partition for `daily_revenue`'s parameter, then `handle_output` again. The
    asset functions never saw the dictionary: swap the IO manager and the same assets store
    their data somewhere else.

    ## The playground's IO managers, side by side

    The same two assets, once per IO manager, each under its own key prefix. Each materializes
    April and May, then May again, as a backfill would.
    """)
    return


@app.cell
def _(
    ArrowIcebergIOManager,
    DuckDBPandasIOManager,
    PartitionedParquetIOManager,
    ServiceUnavailable,
    TrinoIcebergIOManager,
    get_settings,
    lakehouse,
    shutil,
    trino,
):
    lesson_dir = get_settings().data_dir / "lessons"
    duckdb_file = lesson_dir / "io_managers.duckdb"
    # Start from nothing on every run, so what you see below is this run's doing.
    shutil.rmtree(lesson_dir / "parquet", ignore_errors=True)
    duckdb_file.unlink(missing_ok=True)
    _catalog = lakehouse.catalog()
    for _name in ("iceberg", "trino"):
        for _table in ("payments", "daily_revenue"):
            if _catalog.table_exists(f"lessons_io_{_name}.{_table}"):
                _catalog.purge_table(f"lessons_io_{_name}.{_table}")
    lesson_dir.mkdir(parents=True, exist_ok=True)
    managers = {
        "iceberg": ArrowIcebergIOManager(),
        "duckdb": DuckDBPandasIOManager(database=str(duckdb_file)),
        "parquet": PartitionedParquetIOManager(base_path=str(lesson_dir / "parquet")),
    }
    try:
        if get_settings().is_stack:  # Trino reads the stack's catalog, never the local one
            trino.info(timeout=1)
            managers["trino"] = TrinoIcebergIOManager()
    except ServiceUnavailable:
        pass  # Trino runs only on the stack
    sorted(managers)
    return duckdb_file, lesson_dir, managers


@app.cell
def _(dg, make_assets, managers, pd, quiet, time):
    _records = []
    for _name, _manager in managers.items():
        for _step, _month in (
            ("first", "2022-04-01"),
            ("first", "2022-05-01"),
            ("replace", "2022-05-01"),
        ):
            _started = time.perf_counter()
            _result = dg.materialize(
                make_assets(f"lessons_io_{_name}", utc=_name == "duckdb"), partition_key=_month,
                resources={"io_manager": _manager}, run_config=quiet,
            )  # fmt: skip
            _seconds = time.perf_counter() - _started
            _records.append({"io_manager": _name, "run": f"{_step} {_month[:7]}",
                             "seconds": _seconds, "success": _result.success})  # fmt: skip
    timings = pd.DataFrame(_records)
    timings.round({"seconds": 2})
    return (timings,)


@app.cell
def _(alt, timings):
    alt.Chart(timings).mark_bar().encode(
        x=alt.X("seconds", title="seconds per run (two assets, one month)"),
        y=alt.Y("io_manager", title=None),
        color="run",
        yOffset="run",
    ).properties(width=460, height=220, title="The same run through each IO manager")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Most of each run is Dagster's own work (the run, its events, the ephemeral instance); the
    differences come from how each store commits. Now look at what each one left behind.
    """)
    return


@app.cell
def _(lakehouse, pd):
    _columns = ["operation", "added_records", "deleted_records", "total_records"]
    iceberg_months = lakehouse.read("lessons_io_iceberg.payments").to_pandas()
    pd.DataFrame(lakehouse.snapshots("lessons_io_iceberg.payments"))[_columns]
    return (iceberg_months,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **Iceberg** (`ArrowIcebergIOManager`): the table `lessons_io_iceberg.payments`. Each month
    is a commit; replacing May deleted May's rows and wrote the new ones in one transaction
    (PyIceberg records a `delete` snapshot and an `append` one, committed together), and April
    was never touched. Every engine on the catalog reads the result, and the old May stays
    readable by time travel.
    """)
    return


@app.cell
def _(duck, duckdb_file):
    # in UTC, like Iceberg's months (duck.connect sets it; a bare duckdb.connect is local time)
    with duck.connect(duckdb_file, read_only=True) as _con:
        duckdb_months = _con.sql(
            "select strftime(payment_date, '%Y-%m') as month, count(*) as payments "
            "from lessons_io_duckdb.payments group by 1 order by 1"
        ).df()
    duckdb_months
    return (duckdb_months,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **DuckDB** (dagster-duckdb's `DuckDBPandasIOManager`, the one the warehouse uses): the table
    `lessons_io_duckdb.payments` in a DuckDB file. Before writing a partition it runs `DELETE
    ... WHERE <partition_expr> >= 'start' AND <partition_expr> < 'end'`, then inserts. The
    bounds are written without a zone, and DuckDB reads them in its connection's time zone:
    the machine's. Given `payment_date` as it is, at UTC+14 (measured with
    `TZ=Pacific/Kiritimati`, December 2026) replacing May
    deletes April 30 from 10:00 UTC on and keeps the last hours of May twice. Given
    `timezone('UTC', payment_date)`, a timestamp in UTC, the bounds are UTC wherever you are,
    and May again replaced May's rows only. One process at a time may hold the file for
    writing.
    """)
    return


@app.cell
def _(lesson_dir, pd):
    pd.DataFrame(
        [
            {"file": str(_f.relative_to(lesson_dir)), "bytes": _f.stat().st_size}
            for _f in sorted((lesson_dir / "parquet").rglob("*.parquet"))
        ]
    )
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **Parquet** (`PartitionedParquetIOManager`, on Dagster's `UPathIOManager`): one file per
    asset and partition, `<base>/<key path>/<partition>.parquet`; replacing May rewrote May's
    file. Nothing but the path says what the file is: no schema history, no snapshot, no catalog.
    On the stack the base is `s3://<bucket>/parquet` and the same code writes to the bucket.
    """)
    return


@app.cell
def _(duckdb_months, iceberg_months, mo):
    _utc = iceberg_months["payment_date"].dt.tz_convert("UTC").dt.strftime("%Y-%m")
    _iceberg = _utc.value_counts().sort_index()
    _same = dict(_iceberg) == dict(
        zip(duckdb_months["month"], duckdb_months["payments"], strict=True)
    )
    print(f"same in DuckDB: {_same}")
    mo.md(
        f"Counted by UTC month, {' and '.join(_iceberg.index)} hold as many payments in DuckDB "
        f"as in Iceberg: **{_same}**. Replacing May left one copy of it."
    )
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## A Trino IO manager that breaks, and one that holds

    A tempting way to let Trino serve an asset: write the DataFrame to Parquet in S3, then run
    `DROP TABLE IF EXISTS public.iris` and `CREATE TABLE public.iris (...) WITH
    (external_location = ...)` on Trino's Hive connector. Written that way, it cannot work for
    long:

    - the table name was hard-coded, so every asset overwrote `public.iris`;
    - its type map knew only `string` and `double`: any integer or timestamp column raised a
      `KeyError`;
    - the drop and the create were two statements, so readers could find no table between them,
      and a failed create lost the old one;
    - it needs a Hive metastore and the legacy `hive.s3.*` properties, which Trino removed in
      release 481 (the Trino 476 this project runs already reads S3 through its native file
      system, `fs.native-s3.enabled`);
    - building it on Dagster's private `dagster._core.storage.db_io_manager` ties it to
      internals that change between releases without notice.

    `TrinoIcebergIOManager` (`playground/orchestration/io/trino.py`) writes through the shared
    Iceberg catalog instead: one PyIceberg commit per table or month (atomic, typed by the Arrow
    schema), then reads the table back through Trino for the row count and a link to the query.
    Inserting the rows through Trino instead was 851× slower (`playground bench trino`, measured
    in November 2026 on a 2-core Linux machine with Trino 476; run it to measure yours).
    """)
    return


@app.cell
def _(lakehouse, pa, timings):
    _table = pa.Table.from_pandas(timings.drop(columns="success"), preserve_index=False)
    lakehouse.write_table("lessons.io_manager_timings", _table)
    print(f"wrote lessons.io_manager_timings with {len(timings)} rows")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Exercises

    Each exercise has a place for your answer and a check under it that runs whenever you change
    it: ✅ when it holds, ❌ with a hint otherwise.

    **1. A CSV IO manager.** In the cell below, replace `None` with a `dg.ConfigurableIOManager`
    subclass with a `folder: str` field that stores each output as
    `<folder>/<asset key path>/<partition>.csv` and loads it back as a DataFrame. The check runs
    it through Dagster's own contexts (`build_output_context`, `build_input_context`) on a May
    partition of payments and compares what comes back with what went in.
    """)
    return


@app.cell
def _(dg, pd):
    # Exercise 1: your IO manager class (it may use dg, pd and pathlib.Path)
    CsvIOManager = None
    return (CsvIOManager,)


@app.cell
def _(CsvIOManager, lesson):
    lesson.CSV.show(CsvIOManager)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **2. How many rows did re-materializing May replace in the Iceberg table?** Read it from
    the table's history above.
    """)
    return


@app.cell
def _(mo):
    # Exercise 2: a number of rows
    replaced_rows = mo.ui.number(start=0, stop=10_000_000, step=1, label="rows replaced")
    replaced_rows
    return (replaced_rows,)


@app.cell
def _(lesson, replaced_rows, timings):
    assert len(timings)  # the comparison above has run
    lesson.REPLACED.show(replaced_rows.value or None)  # 0: not answered yet
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Recap

    An IO manager is the seam between computing a value and storing it: Dagster hands it a
    context (asset key, partition, metadata) and the object, and asks it for the object back
    downstream. A partitioned write replaces only its slice: a transaction of delete and insert
    in DuckDB, one commit in Iceberg, one file in Parquet. The playground's own are in
    `playground/orchestration/io/`, and the pagila pipeline uses them.

    Next: [lesson 05, incremental loading](?file=05_incremental_loading.py), a day of changes
    loaded five ways. All lessons: [the lesson list](./).
    """)
    return


if __name__ == "__main__":
    app.run()
