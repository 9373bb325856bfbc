# /// script
# requires-python = ">=3.11"
#
# [tool.playground.promote]
# deps = ["iris/iris_cleaned"]
# writes = "lessons.tour_summary"
# ///

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Lesson 00: A tour of the playground")


@app.cell
def _():
    import altair as alt
    import marimo as mo
    import pyarrow as pa

    from playground import lakehouse
    from playground.config.settings import get_settings
    from playground.datasets.iris import dataset
    from playground.engines import duck
    from playground.lessons import tour

    return alt, dataset, duck, get_settings, lakehouse, mo, pa, tour


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # A tour of the playground

    This lesson shows the pieces every other lesson stands on: the **settings** that decide where
    things live, the **Iceberg catalog** that holds the lakehouse tables, and **DuckDB** reading one
    of those tables. It needs no services of its own: `make run` starts the embedded PostgreSQL and
    builds the iris tables before it opens this editor.
    """)
    return


@app.cell
def _(get_settings, mo):
    settings = get_settings()
    mo.md(f"""
    ## Where am I?

    | setting | value |
    |---|---|
    | mode | **{settings.mode}** |
    | data directory | `{settings.data_dir}` |
    | Iceberg catalog | `{settings.catalog_name}` |
    | warehouse | `{settings.warehouse}` |

    Everything that differs between **embedded** mode (this machine only) and **stack** mode
    (`playground stack up` or `docker compose up --wait`, then `PLAYGROUND_MODE=stack`) comes
    from these settings; the code below is the same in both.
    """)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## The lakehouse

    The Dagster asset `iris/iris_cleaned` stores the cleaned iris measurements as the Iceberg table
    `iris.iris_cleaned`. Iceberg keeps the data in Parquet files and a *metadata file* per commit;
    the catalog only remembers which metadata file is current. If the table is missing (you skipped
    `make run`), the next cell builds it the way the asset does.
    """)
    return


@app.cell
def _(dataset, lakehouse):
    catalog = lakehouse.catalog()
    if not catalog.table_exists("iris.iris_cleaned"):
        lakehouse.write_table("iris.iris_cleaned", dataset.clean(dataset.read_csv()), cat=catalog)
    iris_table = catalog.load_table("iris.iris_cleaned")
    snapshots = len(iris_table.snapshots())
    return iris_table, snapshots


@app.cell
def _(mo, snapshots):
    mo.md(f"""
    The table has **{snapshots}** snapshot(s): every materialization commits new ones (a
    replacement is a *delete* and an *append*, committed together), and older snapshots stay
    readable until they are expired.

    ## DuckDB reads it

    DuckDB's `iceberg` extension reads a table from its *metadata file*; it can attach a REST
    catalog (the stack has one, lesson 02 writes through it), but not the SQLite catalog of
    embedded mode. So the next cell asks our catalog for the table's current metadata file
    and creates a view over `iceberg_scan(...)` of it. The view reads the snapshot that was
    current then: after the table changes, run the cell again. The cell then compares the view
    with PyIceberg's own reading of the same table, species by species (how many flowers, their
    mean petal length): green when the two engines agree.
    """)
    return


@app.cell
def _(duck, iris_table, mo, tour):
    con = duck.connect()  # DuckDB with its iceberg extension (and, on the stack, an S3 secret)
    # the metadata file the catalog calls current: a local path, or s3://... on the stack
    _metadata = iris_table.metadata_location.removeprefix("file://")
    _from = f"iceberg_scan({duck.literal(_metadata)})"  # the path as a quoted SQL string
    con.execute(f"CREATE OR REPLACE VIEW iris AS SELECT * FROM {_from}")  # noqa: S608
    # the view against PyIceberg's own reading of the table: flowers and mean petal length
    _compared = tour.view_against_pyiceberg(con, iris_table)
    print(f"the iris view against PyIceberg: {_compared}")
    _kind = "success" if _compared.startswith("equal") else "danger"
    mo.callout(mo.md(f"The `iris` view against PyIceberg: {_compared}"), kind=_kind)
    return (con,)


@app.cell
def _(con, mo):
    summary = mo.sql(
        """
        SELECT species,
               count(*) AS flowers,
               round(avg(petal_length_cm), 2) AS avg_petal_length_cm,
               round(avg(petal_width_cm), 2) AS avg_petal_width_cm
        FROM iris
        GROUP BY species
        ORDER BY species
        """,
        engine=con,
    )
    return (summary,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    Petal size alone separates *setosa* from the other two, as the chart shows.
    """)
    return


@app.cell
def _(con, mo):
    flowers = mo.sql(
        """
        SELECT * FROM iris
        """,
        engine=con,
    )
    return (flowers,)


@app.cell
def _(alt, flowers):
    alt.Chart(flowers).mark_circle(size=50, opacity=0.7).encode(
        x=alt.X("petal_length_cm", title="petal length (cm)"),
        y=alt.Y("petal_width_cm", title="petal width (cm)"),
        color="species",
        tooltip=["species", "petal_length_cm", "petal_width_cm"],
    ).properties(width=520, height=320, title="Iris petals by species")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Writing back

    A summary is a table too. Writing it to the catalog makes it readable by every other engine;
    when Dagster runs this lesson as an asset, this is the table downstream assets read.
    """)
    return


@app.cell
def _(lakehouse, pa, summary):
    written = lakehouse.write_table("lessons.tour_summary", pa.Table.from_pandas(summary))
    print(f"wrote {'.'.join(written.name())} with {len(summary)} rows")
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Exercises

    Each exercise has a box for your answer and a check under it that runs whenever you change
    the answer: ✅ when your answer matches what the lakehouse holds, ❌ with a hint otherwise.

    **1. Compare sepals instead of petals.** Write a query over the `iris` view that gives, for
    each species, the average sepal length and width. Which species overlap?
    """)
    return


@app.cell
def _(mo):
    # Exercise 1: type your query over `iris` (start from the petal query above)
    sepal_query = mo.ui.text_area(placeholder="SELECT species, ... FROM iris ...", rows=6,
                                  label="your query", full_width=True)  # fmt: skip
    sepal_query
    return (sepal_query,)


@app.cell
def _(con, sepal_query, tour):
    tour.SEPAL_MEANS.show(sepal_query.value, con=con)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **2. Which flowers did cleaning drop?** Cleaning (rows with a missing value out, then
    exact duplicates) kept fewer flowers than the raw CSV holds. Which species lost flowers,
    and how many? `dataset.read_csv()` reads the raw file; `dataset.species_counts(table)`
    counts a table.
    """)
    return


@app.cell
def _(mo):
    # Exercise 2: the species that lost flowers, and how many it lost
    dropped_species = mo.ui.dropdown(
        ["Iris-setosa", "Iris-versicolor", "Iris-virginica"], label="species"
    )
    dropped_count = mo.ui.number(start=0, stop=150, step=1, value=0, label="flowers dropped")
    mo.hstack([dropped_species, dropped_count], justify="start")
    return dropped_count, dropped_species


@app.cell
def _(dropped_count, dropped_species, tour):
    _answer = {dropped_species.value: dropped_count.value} if dropped_species.value else None
    tour.DROPPED.show(_answer)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **Recap:** settings pick the mode; the catalog knows the tables; DuckDB reads them through
    `iceberg_scan`; a lesson can write tables back for others to use.

    Next: [lesson 01, chunked loading](?file=01_chunked_loading.py), how the pagila tables get from
    PostgreSQL into the lakehouse. All lessons: [the lesson list](./).
    """)
    return


if __name__ == "__main__":
    app.run()
