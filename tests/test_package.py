"""The package as a whole: no import cycles, every module importable in any order, and other
libraries' private names used only in their one wrapper."""

import ast
import importlib
import random
import subprocess
import sys
from pathlib import Path

import grimp

from tests.helpers import ROOT

PACKAGE = ROOT / "playground"
# Each private name of another library used here, in its one wrapper (with a comment and a test
# that fails loudly when the library changes it).
WRAPPERS = {
    ("playground/lakehouse/specs.py", "_convert_schema_if_needed"),  # tests/lakehouse
    ("playground/orchestration/defs/dbt/assets.py", "_cli_version"),  # tests/orchestration
    ("playground/orchestration/defs/dbt/assets.py", "_initialize_dbt_core_adapter"),
    # the wrapper's own test, which checks the library still has and calls them
    ("tests/orchestration/test_dbt_resource.py", "_initialize_dbt_core_adapter"),
    # the suite's scheduler for pytest-xdist (tests/test_suite_guard.py runs it for real)
    ("conftest.py", "_split_scope"),
}


def _modules() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_no_module_imports_itself_back() -> None:
    graph = grimp.build_graph("playground", cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append(" -> ".join([module, *back]))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_every_module_imports_in_a_shuffled_order(settings) -> None:
    modules = _modules()
    assert len(modules) > 60 and "playground.orchestration.definitions" in modules
    seed = random.randrange(10**6)
    random.Random(seed).shuffle(modules)
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)  # fmt: skip
    assert done.returncode == 0, f"order seed {seed}:\n{done.stderr[-3000:]}"


def _private_uses(path: Path) -> set[str]:
    """`_names` of other libraries that `path` imports or reads (its own objects' are fine)."""
    tree = ast.parse(path.read_text("utf-8"))
    foreign: set[str] = set()  # local names bound to another library's modules or objects
    origin: dict[str, str] = {}  # local name -> the module it was imported from
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not alias.name.startswith("playground"):
                    foreign.add((alias.asname or alias.name).split(".")[0])
                    used.update(p for p in alias.name.split(".") if _private(p))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith(("playground", "tests", "__future__")):
                continue
            used.update(p for p in node.module.split(".") if _private(p))
            for alias in node.names:
                foreign.add(alias.asname or alias.name)
                origin[alias.asname or alias.name] = f"{node.module}:{alias.name}"
                if _private(alias.name):
                    used.add(alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in foreign:
                used.add(node.attr)
        elif isinstance(node, ast.ClassDef):  # a subclass overriding a private method
            bases = [_resolve(origin[b.id]) for b in node.bases
                     if isinstance(b, ast.Name) and b.id in origin]  # fmt: skip
            used.update(
                item.name for item in node.body
                if isinstance(item, ast.FunctionDef) and _private(item.name)
                and any(hasattr(base, item.name) for base in bases)
            )  # fmt: skip
    return used


def _resolve(origin: str):
    module, name = origin.split(":")
    return getattr(importlib.import_module(module), name, None)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_private_names_of_other_libraries_only_in_their_wrapper() -> None:
    found = set()
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), ROOT / "conftest.py"]:
        relative = str(path.relative_to(ROOT))
        found |= {(relative, name) for name in _private_uses(path)}
    assert found - WRAPPERS == set()
    assert WRAPPERS <= found  # each wrapper still exists where this list says


def test_the_check_finds_a_private_name(tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import dagster as dg\nfrom dagster._core.types import X\nfrom pyiceberg.catalog import "
        "Catalog\nfrom dagster_dbt import DbtCliResource\nCatalog._convert_schema_if_needed(1)\n"
        "dg._internal\nclass A(Catalog):\n    def _own(self):\n        return self._mine\n"
        "class B(DbtCliResource):\n    def _initialize_dbt_core_adapter(self, args):\n"
        "        return None\n"
    )
    assert _private_uses(sample) == {
        "_core", "_convert_schema_if_needed", "_internal", "_initialize_dbt_core_adapter"
    }  # fmt: skip


def _uncommented_lazy_imports(path: Path) -> list[int]:
    """Line numbers of imports inside functions whose block carries no comment saying why."""
    lines = path.read_text("utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    if "\nImports inside functions: " in (ast.get_docstring(tree) or ""):
        return []  # said once for the whole module
    missing = []

    def blocks(node):  # every statement list inside a function, nested ones included
        for field in ("body", "orelse", "finalbody", "handlers"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and statements:
                yield statements
                for statement in statements:
                    if not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                        yield from blocks(statement)

    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for statements in blocks(node):
            previous = None
            for statement in statements:
                if not isinstance(statement, ast.Import | ast.ImportFrom):
                    previous = None
                    continue
                if previous is None:  # the first import of a block
                    here, above = lines[statement.lineno - 1], lines[statement.lineno - 2].strip()
                    if "#" not in here and not above.startswith("#"):
                        missing.append(statement.lineno)
                previous = statement
    return sorted(set(missing))


def test_every_import_inside_a_function_says_why() -> None:
    found = {
        str(path.relative_to(ROOT)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if (lines := _uncommented_lazy_imports(path))
    }
    assert found == {}


def test_the_lazy_import_check_can_fail(tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def a():\n    import json\n    return json\n\n"
        "def b():\n    # lazy: a reason\n    import json\n    import os\n    return json, os\n\n"
        "def c():\n    x = 1\n    import os  # lazy: a reason\n    return x, os\n\n"
        "def d():\n    try:\n        import json\n    except ImportError:\n        pass\n"
    )
    assert _uncommented_lazy_imports(sample) == [2, 18]
    declared = tmp_path / "declared.py"  # the reason said once, in the module's docstring
    declared.write_text(
        '"""A module.\n\nImports inside functions: start-up."""\n' + sample.read_text()
    )
    assert _uncommented_lazy_imports(declared) == []
