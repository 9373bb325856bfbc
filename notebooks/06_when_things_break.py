# /// script
# requires-python = ">=3.11"
# ///

import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium", app_title="Lesson 06: When things break")


@app.cell
def _():
    import signal
    import subprocess
    import threading

    import marimo as mo
    from pyiceberg.exceptions import CommitFailedException

    from playground import lakehouse
    from playground.datasets.pagila import seed
    from playground.lakehouse import clean
    from playground.lessons import when_things_break as breaking
    from playground.services import postgres

    return (
        CommitFailedException,
        breaking,
        clean,
        lakehouse,
        mo,
        postgres,
        seed,
        signal,
        subprocess,
        threading,
    )


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    # When things break

    A lakehouse makes promises: a write is committed whole or not at all, two writers cannot
    both win, yesterday's data is still there after a bad load. This lesson breaks things on
    purpose to watch those promises hold, and shows how to recover each time. Every failure is
    real: a process killed with `SIGKILL`, two writers racing, a file held open, a server's
    lock file pointing at the wrong process.

    All of it happens in the namespace `lesson06` and in the folder `lesson06/` of your data
    directory: your own tables, warehouse and PostgreSQL server are left alone.
    """)
    return


@app.cell
def _(postgres, seed):
    # the embedded PostgreSQL (started if `make run` has not) and the pagila database
    server = postgres.start(progress=lambda _line: None)
    seed.seed(if_missing=True, progress=lambda _line: None)
    server.detail
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## 1. An extract killed mid-write

    `playground extract` writes Parquet files under the table's folder first and commits them in
    one Iceberg transaction at the end. The next cell starts one over ten million generated
    rows and kills it with `SIGKILL` (no chance to clean up) as soon as it reports its first
    megabytes. The cell after it asks the catalog, then does what `playground clean` does:
    `clean.find()` lists the files no snapshot references, `clean.clean()` removes them.
    """)
    return


@app.cell
def _(breaking, signal, subprocess):
    # an extract of ten million rows in a child process, killed with SIGKILL mid-write
    before = breaking.snapshot(breaking.BIG)
    _extract = breaking.cli("extract", "--query", breaking.QUERY, "--to", breaking.BIG)
    _child = subprocess.Popen(_extract, stdout=subprocess.PIPE, text=True)
    printed = breaking.read_until(_child, breaking.PROGRESS)  # up to its first "MB written"
    _child.send_signal(signal.SIGKILL)  # no chance to clean up, nor to commit
    _child.wait()
    after = breaking.snapshot(breaking.BIG)
    return after, before, printed


@app.cell
def _(clean, printed):
    # the files the killed extract staged: no snapshot references them, their writer is gone
    print(f"the killed extract's last line: {printed[-1]}")
    staged = clean.find()
    removed = clean.clean(progress=lambda _line: None)
    left = clean.find()
    return left, removed, staged


@app.cell
def _(after, before, left, mo, printed, removed, staged):
    print(f"killed extract: snapshot {before} -> {after}; staged {len(staged.files)}, "
          f"removed {len(removed.files)}, left {len(left.files)}")  # fmt: skip
    mo.vstack([
        mo.md("What the extract printed before it died:"),
        mo.plain_text("\n".join(printed)),
        mo.md(f"""
    - The table's current snapshot before: `{before or "no table yet"}`, after:
      `{after or "no table yet"}`. **Unchanged**: readers never saw a row of the killed run.
    - `playground clean` found **{len(staged.files)} staged file(s)**
      ({staged.bytes / 2**20:.1f} MB) that no snapshot references and whose writer is gone, and
      removed {len(removed.files)}; {len(left.files)} left. It never touches a file a snapshot
      references, nor the files of a writer still running.
    """),
    ])  # fmt: skip
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## 2. Two writers, one table

    Two writers load `lesson06.race` at the same snapshot, wait for the same signal, and
    replace its rows at once: writer A with 5 rows, writer B with 7. Here they are two threads;
    two processes or two machines look the same to the catalog. It accepts a commit only if the
    table still is at the snapshot the writer started from, so the first commit wins and the
    second is refused whole. (PyIceberg retries a refused commit by default when it can; this
    table has `commit.retry.num-retries = 0` so you see the refusal.)
    """)
    return


@app.cell
def _(CommitFailedException, breaking, lakehouse, threading):
    breaking.fresh_race_table()  # lesson06.race: 3 rows of a first load, retries off
    _go = threading.Barrier(2)

    def _write(writer: str, rows: int) -> str:
        table = lakehouse.catalog().load_table(breaking.RACE)  # both at the same snapshot
        _go.wait()  # the signal: both commit at once
        try:
            table.overwrite(breaking.race_rows(writer, rows))
        except CommitFailedException as exc:
            return f"writer {writer}: lost, nothing committed: {exc}"
        return f"writer {writer}: committed {rows} rows"

    said = breaking.in_threads(_write, {"A": 5, "B": 7})
    return (said,)


@app.cell
def _(breaking, lakehouse, mo, said):
    race = lakehouse.read(breaking.RACE).column("writer").to_pylist()
    _won = sum(": committed " in _s for _s in said.values())
    mo.md(f"Both writers ran; commits the catalog accepted: **{_won} of 2**. Which writer won "
          "is exercise 2 below; what each one said waits there.")  # fmt: skip
    return (race,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## 3. A bad month, rolled back

    The next cell loads pagila's payments into `lesson06.payment`, then a child process loads
    May 2022 again with a classic bug: amounts in cents. Comparing each month's total with
    PostgreSQL's finds it. The fix is not another load: the snapshot before the bad one still
    holds every file it referenced, so the table can be pointed back at it.
    """)
    return


@app.cell
def _(breaking, mo):
    bad = breaking.bad_month()
    print(f"bad month: {bad['months that differ']}")
    mo.md(f"""
    The buggy load (a child process) said: `{bad["bad load said"]}`.
    Months whose totals differ from PostgreSQL's (lakehouse, PostgreSQL):
    `{bad["months that differ"]}`. Which snapshot to go back to is exercise 1 below.
    """)
    return (bad,)


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## 4. A reader holds the warehouse while dbt runs

    DuckDB lets one process write a database file, or several read it, never both at once. A
    notebook that left a connection to the warehouse open is enough to make a dbt build fail
    halfway. The dbt asset checks first, so the run fails at once and names the holder. The next
    cell holds a warehouse file from a child process and asks that same check.
    """)
    return


@app.cell
def _(breaking, mo):
    held = breaking.held_warehouse()
    print(f"held warehouse: refused={bool(held['dbt would be told'])}")
    mo.md(f"""
    The holder is PID {held["holder pid"]}. What the dbt asset's run would fail with:

    > {held["dbt would be told"]}

    Once the holder stopped: **{held["after the holder stopped"]}**, a writer may open it.
    `playground doctor` reports the same when the playground's own warehouse is held.
    """)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## 5. A stale `postmaster.pid`

    PostgreSQL's data folder holds `postmaster.pid`, naming the server's process. After a crash
    or a reboot it may name a process that is gone, or worse, one that now belongs to something
    else. The playground trusts the file only if that process is a PostgreSQL serving this folder
    and its socket answers. The next cell starts a throwaway server in `lesson06/stale`, stops
    it, writes a `postmaster.pid` naming this notebook's own process, asks `playground doctor`,
    and starts it again.
    """)
    return


@app.cell
def _(breaking, mo):
    stale = breaking.stale_pid()
    print(f"stale pid: exit {stale['start exit code']}, "
          f"removed: {'removed a stale' in stale['start said']}, "
          f"doctor named it: {'stale postmaster.pid' in stale['doctor said']}")  # fmt: skip
    mo.md(f"""
    `playground doctor` said:

    ```
    {stale["doctor said"]}
    ```

    and `playground services start`:

    ```
    {stale["start said"]}
    ```

    and `playground services stop`: `{stale["stop said"]}`. Nothing was signalled but the
    server the playground itself started.
    """)
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    ## Exercises

    **1. Which snapshot should the table go back to?** Give the id of the snapshot of
    `lesson06.payment` whose month totals equal PostgreSQL's. `lakehouse.catalog().load_table(
    "lesson06.payment").snapshots()` lists them; `breaking.snapshot_sums(id)` totals one.
    """)
    return


@app.cell
def _(mo):
    # Exercise 1: a snapshot id of lesson06.payment
    good_snapshot = mo.ui.text(placeholder="a snapshot id", label="snapshot to roll back to")
    good_snapshot
    return (good_snapshot,)


@app.cell
def _(breaking, good_snapshot):
    breaking.GOOD_SNAPSHOT.show(good_snapshot.value)
    return


@app.cell
def _(bad, breaking, lakehouse):
    # the recovery: point the table at the snapshot before the bad load (no file is rewritten)
    _payment = lakehouse.catalog().load_table(breaking.PAYMENT)
    _payment.manage_snapshots().rollback_to_snapshot(bad["good snapshot"]).commit()
    rolled_back = lakehouse.catalog().load_table(breaking.PAYMENT).current_snapshot()
    return (rolled_back,)


@app.cell
def _(bad, breaking, mo, rolled_back):
    # the check: each month's total in the current snapshot against PostgreSQL's
    _now = rolled_back.snapshot_id
    _equal = breaking.snapshot_sums(_now) == breaking.postgres_month_sums()
    print(f"rolled back: to the first load's snapshot: {_now == bad['good snapshot']}, "
          f"equals PostgreSQL: {_equal}")  # fmt: skip
    mo.md(f"Rolled back to the snapshot exercise 1 asks for: every month totals what "
          f"PostgreSQL has: **{_equal}**. The bad snapshot stays in the history until snapshots "
          "are expired.")  # fmt: skip
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **2. Which writer won the race?** Read `lesson06.race` (for example
    `lakehouse.read("lesson06.race")`) and pick the writer whose rows it holds.
    """)
    return


@app.cell
def _(mo):
    # Exercise 2: the writer whose commit won
    winner = mo.ui.dropdown(["A", "B"], label="the writer that won")
    winner
    return (winner,)


@app.cell
def _(breaking, winner):
    breaking.WINNER.show(winner.value)
    return


@app.cell
def _(mo, race, said):
    _rows = [f"| {_w} | {_s} |" for _w, _s in said.items()]
    if not mo.running_in_notebook():  # run as a script: the suite reads these lines
        for _said in said.values():
            print(f"race: {_said}")
    mo.accordion({"what each writer said (the answer to exercise 2)": mo.md(
        "| writer | what it said |\n|---|---|\n" + "\n".join(_rows)
        + f"\n\nThe table holds **{len(race)} rows**, of writer(s) {sorted(set(race))}: "
        "never a mix."
    )})  # fmt: skip
    return


@app.cell(hide_code=True)
def _(mo):
    mo.md(r"""
    **Recap:** a commit is all or nothing, so a killed writer leaves only files nobody
    references (`playground clean` removes them); the catalog lets one of two racing commits win
    and refuses the other whole; old snapshots make a bad load a one-line rollback; a DuckDB
    file has one writer or many readers; a lock file is trusted only when its process checks out.

    Next: [lesson 07, Iceberg beside DuckLake](?file=07_iceberg_and_ducklake.py), the same tables
    in two table formats. All lessons: [the lesson list](./).
    """)
    return


if __name__ == "__main__":
    app.run()
