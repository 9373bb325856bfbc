# /// script
# requires-python = ">=3.11"
#
# # Not promoted to a Dagster asset: it measures extractions in child processes at the sizes a
# # learner picks with its slider; run once as a report, it would only time its smallest size.
# ///

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Lesson 01: Chunked loading, done right")


@app.cell
def _():
    import tempfile

    import altair as alt
    import marimo as mo
    import pandas as pd

    from playground import extract
    from playground.bench import extract as bench
    from playground.bench.measure import run_function
    from playground.lessons import chunked_loading as lesson
    from playground.services import postgres

    return alt, bench, extract, lesson, mo, pd, postgres, run_function, tempfile


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # Chunked loading, done right

    Moving a table from PostgreSQL into the lakehouse is the first job of every pipeline. A
    recipe many tutorials give reads the table in chunks and glues them together:

    ```python
    frame = pd.concat(pd.read_sql(query, engine, chunksize=10_000))
    ```

    It *looks* bounded, but `pd.concat` keeps every chunk: memory grows with the table. Measured
    at 8 million rows (`playground bench extract --rows 8000000`, November 2026, a 2-core Linux
    machine), each method in its own process:

    | method | seconds | peak memory |
    |---|---|---|
    | `pandas-concat` | 121 | 3,028 MB |
    | `pandas-chunks` | 87 | 379 MB |
    | `adbc` | 10.2 | 272 MB |
    | `duckdb` | 4.1 | 267 MB |

    In this lesson you measure it yourself, at sizes your laptop handles in seconds. Each
    measurement runs in a process of its own (`playground extract`, or a recipe from a cell you
    can edit) and reads that process's peak memory from the OS; it needs only the embedded
    PostgreSQL (the next cell starts it).
    """)
    return


@app.cell
def _(postgres):
    # Nothing starts a server behind your back: this starts the embedded PostgreSQL, or only
    # reports it when `make run` already has.
    server = postgres.start(progress=lambda _line: None)
    server.detail
    return (server,)


@app.cell
def _(mo):
    rows = mo.ui.slider(
        20_000, 2_000_000, step=20_000, value=40_000, label="rows in the payment-shaped table"
    )
    measure = mo.ui.run_button(label="Measure at this size")
    mo.hstack([rows, measure], justify="start")
    return measure, rows


@app.cell
def _(bench, measure, mo, rows, server):
    # In the editor nothing runs until you press the button (each size takes seconds to a
    # minute); run as a script, the lesson measures the default size.
    mo.stop(
        mo.running_in_notebook() and not measure.value,
        mo.md("Pick a size, then press **Measure at this size**."),
    )
    assert server.running, server.detail
    url, table = bench.ensure_bench_table(rows.value)
    return table, url


@app.cell
def _(mo, table):
    mo.md(f"""
    The source table `{table}` has the shape of pagila's `payment`: four integers, a
    `numeric(5,2)` amount and a `timestamptz`. It lives in the `playground_bench` database and is
    built once per size.

    ## Four ways to move it

    | method | how it reads | what it keeps in memory |
    |---|---|---|
    | `pandas-concat` | `read_sql(chunksize=…)` then `pd.concat` | every chunk, then a copy |
    | `pandas-chunks` | `read_sql(chunksize=…)`, each chunk written to Parquet | one chunk |
    | `adbc` | the ADBC driver's Arrow record batches | one batch |
    | `duckdb` | DuckDB's postgres_scanner, writing Parquet itself | DuckDB's buffers |

    Every method writes Parquet files and commits them to Iceberg in one transaction.
    """)
    return


@app.cell
def _(bench, extract, pd, table, tempfile, url):
    with tempfile.TemporaryDirectory() as _scratch:
        methods = pd.DataFrame(
            [bench.measure_extract(url, table, _m, _scratch) for _m in extract.METHODS]
        )
    methods["peak_rss_mb"] = methods["peak_rss"] / 2**20
    methods[["method", "seconds", "peak_rss_mb"]].round({"seconds": 2, "peak_rss_mb": 0})
    return (methods,)


@app.cell
def _(alt, methods, mo):
    _time = (
        alt.Chart(methods)
        .mark_bar()
        .encode(x=alt.X("seconds", title="seconds"), y=alt.Y("method", sort="x"))
        .properties(width=280, height=140, title="Time")
    )
    _memory = (
        alt.Chart(methods)
        .mark_bar(color="#d62728")
        .encode(x=alt.X("peak_rss_mb", title="peak RSS (MB)"), y=alt.Y("method", sort="x"))
        .properties(width=280, height=140, title="Peak memory")
    )
    mo.vstack(
        [
            _time | _memory,
            mo.md(
                "At small sizes every process is dominated by its imports (about 200 MB of "
                "libraries on the 2-core Linux machine this was written on, November 2026); "
                "pick a larger size and watch which line pulls away."
            ),
        ]
    )
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Does memory grow with the table?

    The claim to test: *streaming* methods use the same memory whatever the table size, the
    concat recipe does not. Here are the two pandas recipes, each a function you can edit. The
    first keeps every chunk and glues them together; the second writes each chunk to a file of
    its own as it arrives (`stream_results=True` asks PostgreSQL for the rows a chunk at a time,
    through a server-side cursor). Amounts stay exact `Decimal`s, as money should.
    """)
    return


@app.cell
def _():
    def pandas_concat(url, table, folder):
        """Read in chunks, keep them all, glue them into one frame, write it."""
        import pandas as pd
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            query = f"select * from {table}"  # noqa: S608 - the lesson's own table
            chunks = pd.read_sql(query, conn, chunksize=10_000, coerce_float=False)
            frame = pd.concat(chunks)
        frame.to_parquet(f"{folder}/{table}.parquet")
        return len(frame)

    return (pandas_concat,)


@app.cell
def _():
    def pandas_chunks(url, table, folder):
        """Read in chunks, write each to a file of its own, keep none."""
        import pandas as pd
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        written = 0
        with engine.connect().execution_options(stream_results=True) as conn:
            query = f"select * from {table}"  # noqa: S608 - the lesson's own table
            chunks = pd.read_sql(query, conn, chunksize=10_000, coerce_float=False)
            for number, chunk in enumerate(chunks):
                chunk.to_parquet(f"{folder}/{table}-{number:05d}.parquet")
                written += len(chunk)
        return written

    return (pandas_chunks,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Each recipe runs in a process of its own (its source as the cell holds it now), at 100,000
    and at 400,000 rows, sizes where the difference already shows over the libraries every
    process loads; the OS reports each process's peak memory.
    """)
    return


@app.cell
def _(bench, pandas_chunks, pandas_concat, pd, postgres, run_function, table, tempfile):
    assert table  # measured with the rest (after the button in the editor)
    _url = postgres.url(bench.BENCH_DB, driver="psycopg")
    _records = []
    for _size in (100_000, 400_000):
        _, _table = bench.ensure_bench_table(_size)
        for _method, _load in (("pandas-concat", pandas_concat), ("pandas-chunks", pandas_chunks)):
            with tempfile.TemporaryDirectory() as _folder:
                _run = run_function(_load, _url, _table, _folder)
            _mb = _run["peak_rss"] / 2**20
            _records.append({"method": _method, "rows": _size, "rows written": _run["result"],
                             "seconds": _run["seconds"], "peak_rss_mb": _mb})  # fmt: skip
            print(f"growth: {_method} at {_size} rows: {_mb:.0f} MB")
    growth = pd.DataFrame(_records)
    growth
    return (growth,)


@app.cell
def _(alt, growth):
    alt.Chart(growth).mark_line(point=True).encode(
        x=alt.X("rows", title="rows"),
        y=alt.Y("peak_rss_mb", title="peak RSS (MB)"),
        color="method",
    ).properties(width=520, height=260, title="Peak memory against table size")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ### Exercises on what you measured

    Each has a box for your answer and a check under it that reads the measurements above: ✅
    when your answer matches them, ❌ with a hint otherwise.

    **1.** Whose peak memory grows with the table?
    """)
    return


@app.cell
def _(mo):
    # Exercise 1: pick a method
    grows = mo.ui.dropdown(["duckdb", "adbc", "pandas-chunks", "pandas-concat"], label="method")
    grows
    return (grows,)


@app.cell
def _(growth, grows, lesson):
    lesson.GROWS.show(grows.value, growth=growth)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **2.** About how many bytes does `pandas-concat` hold per row of the table? (Within a
    quarter of what the two sizes above say.)
    """)
    return


@app.cell
def _(mo):
    # Exercise 2: bytes per row
    per_row = mo.ui.number(start=0, stop=1_000_000, step=1, label="bytes per row")
    per_row
    return (per_row,)


@app.cell
def _(growth, lesson, per_row):
    lesson.PER_ROW.show(per_row.value or None, growth=growth)  # 0: not answered yet
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Batch size trades memory for speed

    Streaming bounds memory by the *batch*, so the batch size is the knob: small batches mean
    many round trips and little memory, big batches the reverse.
    """)
    return


@app.cell
def _(bench, pd, table, tempfile, url):
    with tempfile.TemporaryDirectory() as _scratch:
        batches = pd.DataFrame(
            [
                bench.measure_extract(url, table, "pandas-chunks", _scratch, batch_rows=_b)
                for _b in (1_000, 10_000, 100_000)
            ]
        )
    batches["peak_rss_mb"] = batches["peak_rss"] / 2**20
    return (batches,)


@app.cell
def _(alt, batches):
    _base = alt.Chart(batches).encode(x=alt.X("batch_rows:O", title="rows per batch"))
    (
        _base.mark_bar().encode(y=alt.Y("seconds", title="seconds")).properties(width=250)
        | _base.mark_bar(color="#d62728")
        .encode(y=alt.Y("peak_rss_mb", title="peak RSS (MB)"))
        .properties(width=250)
    )
    return


@app.cell
def _(batches, bench, growth, methods, table):
    # The payment-shaped tables were for measuring only: drop them (the next run builds them again)
    _built = sorted({table, *(f"bench_payment_{_n}" for _n in growth["rows"])})
    bench.drop_bench_tables(_built)
    print(
        f"dropped {', '.join(_built)} ({len(methods) + len(batches) + len(growth)} runs measured)"
    )
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## In the library

    `playground extract` does this for any table or query; the default is DuckDB, the fastest
    correct method measured here. From the command line:

    ```bash
    playground extract --table payment --to pagila_raw.payment --partition-by payment_date:month
    ```

    and `playground bench extract --rows 8000000` prints the full comparison, with two anchors:
    a bare binary `COPY` and DuckDB writing Parquet directly.

    **Recap:** concatenating chunks does not bound memory; writing each batch to a sink does. The
    batch size sets the memory; the engine (DuckDB, ADBC, pandas) sets the speed.

    Next: [lesson 02, DuckDB against the lakehouse](?file=02_duckdb_lakehouse.py), querying the
    tables you just learned to load.
    """)
    return


if __name__ == "__main__":
    app.run()
