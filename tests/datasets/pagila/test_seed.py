"""`playground seed`: the upstream dump, schema fidelity, and bad input that leaves the target as
it was."""

import re
import shutil
import sys
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg import sql

from playground.datasets.pagila import seed
from playground.services import postgres
from tests.helpers import free_port, run

pytestmark = pytest.mark.slow

TABLES = (*seed.DIMENSIONS, "rental", "payment")
COLUMNS_QUERY = """
    select table_name, column_name, data_type, udt_name, character_maximum_length,
           numeric_precision, numeric_scale, is_nullable
    from information_schema.columns
    where table_schema = 'public' and table_name = any(%s)
    order by table_name, ordinal_position"""


def _quiet(_line: str) -> None:
    pass


def _upstream_counts(folder: Path) -> dict[str, int]:
    """Rows per table, counted in the dump's COPY blocks (payment partitions summed)."""
    counts: dict[str, int] = {}
    table = None
    for line in (folder / "pagila-data.sql").read_text(encoding="utf-8").splitlines():
        if table is None and (match := re.match(r"COPY public\.(\w+) ", line)):
            table = re.sub(r"_p\d{4}_\d{2}$", "", match.group(1))
            counts.setdefault(table, 0)
        elif line == "\\.":
            table = None
        elif table is not None:
            counts[table] += 1
    return counts


def test_upstream_dump_loads_with_upstream_counts(shared_pagila: Path) -> None:
    counts = seed.seed(dump=shared_pagila, database="pagila_upstream", progress=_quiet)
    assert counts == _upstream_counts(shared_pagila)
    assert counts["rental"] == 16044 and counts["payment"] == 16049


def test_schema_matches_upstream(shared_pagila: Path, seeded) -> None:
    seed.seed(dump=shared_pagila, database="pagila_upstream", progress=_quiet)
    with psycopg.connect(postgres.url("pagila_upstream")) as upstream:
        expected = upstream.execute(COLUMNS_QUERY, (list(TABLES),)).fetchall()
    with seeded(0.1) as ours:
        actual = ours.execute(COLUMNS_QUERY, (list(TABLES),)).fetchall()
        enum = ours.execute(
            "select array_agg(enumlabel order by enumsortorder) from pg_enum "
            "where enumtypid = 'mpaa_rating'::regtype"
        ).fetchone()[0]
    assert len(expected) == 87
    assert actual == expected
    assert enum == ["G", "PG", "PG-13", "R", "NC-17"]


def test_reseeding_replaces_only_its_own_database(seeded) -> None:
    seed.seed(0.05, database="pagila_mine", progress=_quiet)
    first = seed.row_counts(postgres.url("pagila_mine"))
    seed.seed(0.05, database="pagila_mine", progress=_quiet)  # idempotent
    assert seed.row_counts(postgres.url("pagila_mine")) == first
    postgres.ensure_database("pagila_foreign")
    with pytest.raises(seed.SeedError, match="was not created by `playground seed`; pass --force"):
        seed.seed(0.05, database="pagila_foreign", progress=_quiet)
    counts = seed.seed(0.05, database="pagila_foreign", force=True, progress=_quiet)
    assert counts == first


def _databases() -> set[str]:
    with postgres.connect("postgres") as conn:
        return {r[0] for r in conn.execute("select datname from pg_database")}


def test_dump_failing_halfway_leaves_target_as_it_was(shared_pagila: Path, tmp_path) -> None:
    seed.seed(0.05, database="pagila_keep", progress=_quiet)
    before = seed.row_counts(postgres.url("pagila_keep"))
    broken = tmp_path / "dump"
    broken.mkdir()
    shutil.copy(shared_pagila / "pagila-schema.sql", broken)
    data = (shared_pagila / "pagila-data.sql").read_text(encoding="utf-8").splitlines()
    cut = data.index(next(line for line in data if line.startswith("COPY public.rental ")))
    data[cut + 100] = "this is not a rental row"
    (broken / "pagila-data.sql").write_text("\n".join(data) + "\n", encoding="utf-8")
    with pytest.raises(seed.SeedError, match="pagila-data.sql failed: .*invalid input syntax"):
        seed.seed(dump=broken, database="pagila_keep", progress=_quiet)
    assert seed.row_counts(postgres.url("pagila_keep")) == before
    assert "pagila_keep__loading" not in _databases()


def test_dump_folder_without_the_files(tmp_path) -> None:
    (tmp_path / "pagila-schema.sql").write_text("-- only the schema\n")
    with pytest.raises(seed.SeedError, match="lacks pagila-data.sql"):
        seed.seed(dump=tmp_path, progress=_quiet)
    with pytest.raises(seed.SeedError, match="does not exist"):
        seed.seed(dump=tmp_path / "nowhere", progress=_quiet)


def test_unreachable_target() -> None:
    url = f"postgresql://someone:secret@127.0.0.1:{free_port()}/postgres"
    with pytest.raises(seed.SeedError, match=r"cannot reach postgresql://\*\*\*@127.0.0.1") as err:
        seed.seed(0.05, target=url, progress=_quiet)
    assert "secret" not in str(err.value)


def test_seed_into_a_url_target() -> None:
    url = postgres.url("postgres")
    counts = seed.seed(0.05, target=url, database="pagila_by_url", progress=_quiet)
    assert counts["rental"] == round(16044 * 0.05)


def test_bad_arguments_touch_nothing() -> None:
    before = _databases()
    with pytest.raises(ValueError, match="scale factor must be a positive number"):
        seed.seed(0, database="pagila_zero", progress=_quiet)
    with pytest.raises(seed.SeedError, match="not a usable database name"):
        seed.seed(1, database="Robert'); drop table students;--", progress=_quiet)
    with pytest.raises(seed.SeedError, match="is not 'embedded', 'stack' or a postgresql:// URL"):
        seed.seed(1, target="mysql://x", progress=_quiet)
    assert _databases() == before


def test_cli_reports_progress_and_errors() -> None:
    result = run([sys.executable, "-m", "playground.cli", "seed", "--scale", "0.05",
                  "--database", "pagila_cli"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"rental\s+802 rows .* rows/s", result.stdout)
    assert "pagila ready in database 'pagila_cli'" in result.stdout
    bad = run([sys.executable, "-m", "playground.cli", "seed", "--scale", "-2"])
    assert bad.returncode == 2
    assert "scale factor must be a positive number, got -2.0" in bad.stderr


def test_interrupted_seed_leaves_target_as_it_was(tmp_path) -> None:
    import signal
    import subprocess
    import time

    seed.seed(0.05, database="pagila_interrupted", progress=_quiet)
    before = seed.row_counts(postgres.url("pagila_interrupted"))
    process = subprocess.Popen(
        [sys.executable, "-m", "playground.cli", "seed", "--scale", "20",
         "--database", "pagila_interrupted"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in process.stdout:  # kill it in the middle of the load
        if line.strip().startswith("customer"):
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert seed.row_counts(postgres.url("pagila_interrupted")) == before
    # the next run cleans the leftover loading database up
    seed.seed(0.05, database="pagila_interrupted", progress=_quiet)
    assert "pagila_interrupted__loading" not in _databases()


def test_bench_seed_small_run() -> None:
    from playground.bench.seed import bench_seed

    lines: list[str] = []
    rows = bench_seed([0.05], print_=lines.append)
    assert rows[0]["rental"] == rows[0]["payment"] == 802
    assert 0 < rows[0]["peak_rss"] < 1_000_000_000
    assert "rentals" in lines[0] and "MB" in lines[1]
    with postgres.connect("postgres") as conn:
        gone = conn.execute(
            sql.SQL("select count(*) from pg_database where datname = {}").format(
                sql.Literal("pagila_bench")
            )
        ).fetchone()
    assert gone == (0,)


def test_if_missing_seeds_once_then_keeps_what_was_changed(seeded) -> None:
    postgres.drop_database("pagila_once")
    lines: list[str] = []
    counts = seed.seed(0.05, database="pagila_once", if_missing=True, progress=lines.append)
    assert counts["rental"] == 802
    with postgres.connect("pagila_once", autocommit=True) as conn:
        conn.execute("delete from payment where payment_id = (select min(payment_id) from payment)")
    assert seed.seed(0.05, database="pagila_once", if_missing=True, progress=lines.append) == {}
    assert lines[-1].startswith("database 'pagila_once' on ") and "left as it is" in lines[-1]
    assert seed.row_counts(postgres.url("pagila_once"))["payment"] == counts["payment"] - 1
    postgres.drop_database("pagila_once")


def test_seeding_image_dependencies_are_enough(seeded, tmp_path) -> None:
    """What docker/pagila-seed installs and copies runs `playground seed`, in a venv of its own."""
    from tests.helpers import BIN, ROOT

    dockerfile = (ROOT / "docker" / "pagila-seed" / "Dockerfile").read_text()
    packages = re.search(r"-c constraints\.txt (.+)$", dockerfile, re.MULTILINE).group(1).split()
    venv = tmp_path / "venv"
    result = run([str(BIN / "uv"), "venv", "--quiet", "--python", sys.executable, str(venv)])
    assert result.returncode == 0, result.stderr
    python = str(venv / "bin" / "python")
    result = run([str(BIN / "uv"), "pip", "install", "--quiet", "--python", python,
                  "-c", str(ROOT / "constraints.txt"), *(p.strip('"') for p in packages)],
                 env={"TMPDIR": str(tmp_path)}, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr
    app = tmp_path / "app"
    shutil.copytree(ROOT / "playground", app / "playground",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (app / ".playground").mkdir()
    postgres.drop_database("pagila_image")
    command = [python, "-m", "playground.cli", "seed", "--target",
               postgres.url("pagila_image"), "--database", "pagila_image", "--if-missing",
               "--scale", "0.05"]  # fmt: skip
    result = run(command, cwd=app, env={"PYTHONPATH": str(app)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rows in 15 tables" in result.stdout
    assert seed.row_counts(postgres.url("pagila_image"))["rental"] == 802
    postgres.drop_database("pagila_image")


def _wait_for_database(name: str, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while name not in _databases():
        assert time.monotonic() < deadline, f"{name} never appeared"
        time.sleep(0.05)


def test_overlapping_seeds_run_one_at_a_time() -> None:
    import subprocess

    seed.seed(0.05, database="pagila_overlap", progress=_quiet)
    first = subprocess.Popen(
        [sys.executable, "-m", "playground.cli", "seed", "--scale", "3",
         "--database", "pagila_overlap"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_database("pagila_overlap__loading")
        second = run([sys.executable, "-m", "playground.cli", "seed", "--scale", "2",
                      "--database", "pagila_overlap"])  # fmt: skip
        assert second.returncode == 2
        assert (f"another `playground seed` (pid {first.pid}) is loading database "
                "'pagila_overlap'") in second.stderr  # fmt: skip
        assert "pagila_overlap__loading" in _databases()  # the second touched nothing
        out, err = first.communicate(timeout=300)
    finally:
        first.kill()
        first.wait()
    assert first.returncode == 0, err
    counts = seed.row_counts(postgres.url("pagila_overlap"))
    assert counts["rental"] == 16044 * 3
    assert not {"pagila_overlap__loading", "pagila_overlap__old"} & _databases()


def test_swap_closes_readers_and_keeps_the_name(seeded) -> None:
    seed.seed(0.05, database="pagila_swap", progress=_quiet)
    reader = psycopg.connect(postgres.url("pagila_swap"))
    try:
        seed.seed(0.1, database="pagila_swap", progress=_quiet)
        with pytest.raises(psycopg.OperationalError):
            reader.execute("select 1")  # its session was closed for the swap
    finally:
        reader.close()
    assert seed.row_counts(postgres.url("pagila_swap"))["rental"] == round(16044 * 0.1)


def test_refuses_maintenance_and_reserved_databases() -> None:
    before = _databases()
    for name in ("postgres", "template1", "pagila__loading", "pagila__old"):
        with pytest.raises(seed.SeedError, match="is reserved"):
            seed.seed(0.05, database=name, force=True, progress=_quiet)
    with pytest.raises(seed.SeedError, match="at most 41 characters"):
        seed.seed(0.05, database="a" * 42, progress=_quiet)
    assert _databases() == before


def test_a_scale_that_cannot_fit_is_refused_before_anything() -> None:
    before = _databases()
    result = run([sys.executable, "-m", "playground.cli", "seed", "--scale", "1e9",
                  "--database", "pagila_huge"])  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert re.search(
        r"scale factor 1e\+09 needs about [\d,.]+ GB of disk \([\d,.]+ GB free in .*\) and "
        r"[\d,.]+ GB of memory \([\d,.]+ GB available\)\. Choose a smaller --scale\.",
        result.stderr,
    )
    assert _databases() == before
    bad_seed = run([sys.executable, "-m", "playground.cli", "seed", "--seed", "-1"])
    assert bad_seed.returncode == 2 and "--seed -1" in bad_seed.stderr


def test_incomplete_dumps_leave_the_target_as_it_was(tmp_path) -> None:
    from importlib import resources

    seed.seed(0.05, database="pagila_dumpcheck", progress=_quiet)
    before = seed.row_counts(postgres.url("pagila_dumpcheck"))
    empty, no_data = tmp_path / "empty", tmp_path / "no_data"
    for folder in (empty, no_data):
        folder.mkdir()
        (folder / "pagila-data.sql").write_text("")
    (empty / "pagila-schema.sql").write_text("")
    schema = resources.files("playground.datasets.pagila").joinpath("schema.sql").read_text()
    (no_data / "pagila-schema.sql").write_text(schema)
    with pytest.raises(seed.SeedError, match='did not create every pagila table .*"language"'):
        seed.seed(dump=empty, database="pagila_dumpcheck", progress=_quiet)
    with pytest.raises(seed.SeedError, match="loaded no rows into language, category"):
        seed.seed(dump=no_data, database="pagila_dumpcheck", progress=_quiet)
    with pytest.raises(seed.SeedError, match="is a file; give the folder"):
        seed.seed(dump=no_data / "pagila-data.sql", database="pagila_dumpcheck", progress=_quiet)
    assert seed.row_counts(postgres.url("pagila_dumpcheck")) == before
    assert "pagila_dumpcheck__loading" not in _databases()


BAD_URLS = (
    "postgresql://[bad",  # an IPv6 bracket never closed
    "postgresql://learner:Secret-Pw-1@[bad/x",
    "postgresql://learner:Sec@ret-Pw-2@localhost/x",  # an @ in the password, not encoded
    "postgresql://learner:Sec/ret-Pw-3@localhost:1/x",  # a / in the password, not encoded
)


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_target_url_is_one_line_without_the_password(url: str) -> None:
    done = run([sys.executable, "-m", "playground.cli", "seed", "--target", url])
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "postgres" in lines[0] and ("postgresql://HOST" in lines[0] or "Check" in lines[0])
    login = url.split("//", 1)[1].rpartition("@")[0]
    for piece in {login, *re.split(r"[:/@\[]", login)} - {"", "learner"}:
        assert piece not in lines[0], (piece, lines[0])


@settings(max_examples=300, deadline=None)
@given(password=st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=4))
def test_no_password_reaches_a_target_error(password: str) -> None:
    """Whatever the password holds, a URL libpq refuses gives a SeedError without it."""
    url = f"postgresql://learner:{password}@[bad/x"
    neutral = f"postgresql://learner:{'x' * len(password)}@[bad/x"
    try:
        seed.resolve_target(url)
    except seed.SeedError as exc:
        message = str(exc)
    else:
        return  # libpq took it (a / or ? in the password moves the rest out of the host)
    try:
        seed.resolve_target(neutral)
        neutral_message = ""
    except seed.SeedError as exc:
        neutral_message = str(exc)
    pieces = {password, *re.split(r"[:/?#\[\]@]", password)}
    leaked = [p for p in pieces if len(p) >= 4 and p in message and p not in neutral_message]
    assert not leaked, (leaked, message)
