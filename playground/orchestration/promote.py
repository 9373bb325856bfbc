"""Promote a marimo lesson to a Jupyter notebook that Dagster runs through dagstermill.

A lesson opts in with a `[tool.playground.promote]` table in its PEP 723 header:

    # /// script
    # [tool.playground.promote]
    # deps = ["iris/iris_cleaned"]          # asset keys the notebook reads
    # writes = "lessons.tour_summary"       # the table it writes, for downstream assets
    # ///

`promote()` exports the lesson with `marimo export ipynb`, stamps the `python3` kernelspec that
papermill needs, and rewrites each `name = mo.sql(f\"\"\"...\"\"\", engine=con)` cell as a jupysql
`%%sql` cell (mo.sql needs the marimo runtime, which a Jupyter kernel does not have).
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

from playground.config.settings import project_root

_PEP723 = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
_MO_SQL = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\s*=\s*mo\.sql\(\s*f?(?P<quote>\"\"\"|''')(?P<sql>.*?)(?P=quote)"
    r"\s*,\s*engine\s*=\s*(?P<engine>[A-Za-z_]\w*)\s*,?\s*\)\s*$",
    re.DOTALL,
)
# short_errors off: jupysql then raises a failed query instead of rendering it through IPython's
# `_render_traceback_`, which stops the notebook yet lets `pytest --nbmake` report it passed.
SQL_SETUP = """%load_ext sql
%config SqlMagic.short_errors = False
%config SqlMagic.autopandas = True
%config SqlMagic.displaycon = False
%config SqlMagic.feedback = 0"""
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


class PromoteError(ValueError):
    """A lesson cannot be promoted; the message says which lesson or cell and why."""


def lessons_dir() -> Path:
    return project_root() / "notebooks"


def promoted_dir() -> Path:
    return lessons_dir() / "promoted"


def lesson_path(name: str) -> Path:
    """`00_tour`, `00_tour.py` or a path → the lesson file, with a clear error if it is missing."""
    path = Path(name)
    if path.suffix != ".py":
        path = path.with_suffix(".py")
    if not path.is_file():
        path = lessons_dir() / path.name
    if not path.is_file():
        available = ", ".join(p.stem for p in sorted(lessons_dir().glob("[0-9]*.py"))) or "none"
        raise PromoteError(f"No lesson {name!r} in {lessons_dir()}. Lessons: {available}.")
    return path


def promotion_config(source: str, path: Path) -> dict:
    """The `[tool.playground.promote]` table of a lesson's PEP 723 header."""
    for match in _PEP723.finditer(source):
        if match.group("type") != "script":
            continue
        content = "".join(
            line[2:] if line.startswith("# ") else line[1:]
            for line in match.group("content").splitlines(keepends=True)
        )
        config = tomllib.loads(content).get("tool", {}).get("playground", {}).get("promote")
        if config is not None:
            deps = config.get("deps", [])
            if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
                raise PromoteError(
                    f"{path}: [tool.playground.promote] deps must be a list of keys."
                )
            return {"deps": deps, "writes": config.get("writes")}
    raise PromoteError(
        f"{path} is not marked for promotion: add a [tool.playground.promote] table to its "
        "`# /// script` header (see notebooks/00_tour.py)."
    )


def _sql_cell(source: str, index: int, path: Path) -> str:
    match = _MO_SQL.match(source.strip())
    if match is None:
        raise PromoteError(
            f"{path}, cell {index}: cannot translate this mo.sql cell for Jupyter. Write it as "
            '`name = mo.sql(f"""...""", engine=con)`.'
        )
    query = match.group("sql").strip("\n")
    if "{" in query:
        raise PromoteError(
            f"{path}, cell {index}: the query interpolates Python values ({{...}}), which the "
            "promoted notebook cannot reproduce; compute them in a Python cell instead."
        )
    lines = textwrap.dedent(query).strip().splitlines()
    body = "\n".join([f"{match.group('name')} << {lines[0]}", *lines[1:]])
    return f"%%sql {match.group('engine')}\n{body}"


def to_notebook(path: Path) -> dict:
    """Export a lesson and return the promoted notebook as a JSON-ready dict."""
    source = path.read_text(encoding="utf-8")
    config = promotion_config(source, path)
    exported = subprocess.run(
        [sys.executable, "-m", "marimo", "export", "ipynb", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if exported.returncode != 0:
        raise PromoteError(f"marimo could not export {path}:\n{exported.stderr.strip()}")
    notebook = json.loads(exported.stdout)
    cells = []
    setup_added = False
    for index, cell in enumerate(notebook["cells"]):
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "code" and "mo.sql(" in text:
            if not setup_added:
                cells.append(_code_cell(SQL_SETUP, f"{cell.get('id', index)}-sql-setup"))
                setup_added = True
            cell = {**cell, "source": _sql_cell(text, index, path)}
        cells.append(cell)
    notebook["cells"] = cells
    notebook["metadata"]["kernelspec"] = KERNELSPEC
    notebook["metadata"]["playground"] = {
        "source": path.relative_to(project_root()).as_posix()
        if path.is_relative_to(project_root())
        else path.name,
        "source_sha256": hashlib.sha256(source.encode()).hexdigest(),
        **config,
    }
    return notebook


def _code_cell(source: str, cell_id: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": source,
    }


def render(notebook: dict) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def promote(name: str, output_dir: Path | None = None) -> Path:
    """Write `notebooks/promoted/<lesson>.ipynb` from the marimo lesson `name`."""
    path = lesson_path(name)
    output_dir = output_dir or promoted_dir()
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"{path.stem}.ipynb"
    target.write_text(render(to_notebook(path)), encoding="utf-8")
    return target


def stale(promoted: Path) -> str | None:
    """Why a promoted notebook differs from what its lesson exports now, or None if current."""
    meta = json.loads(promoted.read_text(encoding="utf-8"))["metadata"].get("playground", {})
    source = project_root() / meta.get("source", f"notebooks/{promoted.stem}.py")
    if not source.is_file():
        return f"{promoted.name}: its lesson {source} no longer exists"
    if render(to_notebook(source)) != promoted.read_text(encoding="utf-8"):
        return (
            f"{promoted.name} is out of date with {source.name}: "
            f"run `playground promote {source.stem}`"
        )
    return None
