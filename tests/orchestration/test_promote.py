import json
from pathlib import Path

import pytest

from playground.config.settings import project_root
from playground.orchestration import promote

LESSON = '''# /// script
# [tool.playground.promote]
# deps = ["iris/iris_cleaned"]
# writes = "lessons.x"
# ///
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import duckdb

    con = duckdb.connect()
    return con, mo


@app.cell
def _(con, mo):
    result = mo.sql(
        f"""
        SELECT 1 AS a,
               2 AS b
        """,
        engine=con
    )
    return (result,)


if __name__ == "__main__":
    app.run()
'''


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "99_example.py"
    path.write_text(text, encoding="utf-8")
    return path


def test_sql_cells_become_jupysql_and_kernelspec_is_stamped(tmp_path: Path) -> None:
    notebook = promote.to_notebook(_write(tmp_path, LESSON))
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert notebook["metadata"]["playground"]["deps"] == ["iris/iris_cleaned"]
    assert notebook["metadata"]["playground"]["writes"] == "lessons.x"
    sources = [c["source"] for c in notebook["cells"] if c["cell_type"] == "code"]
    assert sources[1] == promote.SQL_SETUP
    assert sources[2] == "%%sql con\nresult << SELECT 1 AS a,\n       2 AS b"
    assert not any("mo.sql" in s for s in sources)


def test_interpolated_sql_is_refused(tmp_path: Path) -> None:
    text = LESSON.replace("SELECT 1 AS a,", "SELECT {value} AS a,")
    with pytest.raises(promote.PromoteError, match="cell 1: the query interpolates"):
        promote.to_notebook(_write(tmp_path, text))


def test_sql_without_engine_is_refused(tmp_path: Path) -> None:
    text = LESSON.replace(",\n        engine=con\n    )", "\n    )")
    with pytest.raises(promote.PromoteError, match="cannot translate this mo.sql cell"):
        promote.to_notebook(_write(tmp_path, text))


def test_lesson_without_promote_table_is_refused(tmp_path: Path) -> None:
    text = LESSON.split("# ///\n", 2)[-1]
    with pytest.raises(promote.PromoteError, match="not marked for promotion"):
        promote.to_notebook(_write(tmp_path, text))


def test_unknown_lesson_lists_the_available_ones() -> None:
    with pytest.raises(promote.PromoteError, match="No lesson 'nope'.*00_tour"):
        promote.lesson_path("nope")


def test_promoted_notebooks_are_current() -> None:
    promoted = sorted(promote.promoted_dir().glob("*.ipynb"))
    assert promoted, "notebooks/promoted/ holds no promoted lesson"
    problems = [p for p in map(promote.stale, promoted) if p]
    assert problems == []


def test_drift_is_detected(tmp_path: Path) -> None:
    notebook = json.loads((promote.promoted_dir() / "00_tour.ipynb").read_text())
    notebook["cells"][1]["source"] = "# edited by hand\n"
    edited = tmp_path / "00_tour.ipynb"
    edited.write_text(promote.render(notebook))
    assert "out of date with 00_tour.py" in promote.stale(edited)
    assert (project_root() / "notebooks" / "00_tour.py").is_file()
