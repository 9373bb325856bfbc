"""The docs that describe the tree cannot drift from it: docs/layout.md names every module of the
package and nothing else, and the README stays a front door that links every docs page."""

import re

from tests.helpers import ROOT


def _modules() -> set[str]:
    return {
        str(path.relative_to(ROOT))
        for path in (ROOT / "playground").rglob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    }


def test_the_layout_page_names_every_module_and_no_other() -> None:
    named = set(re.findall(r"`(playground/[\w/]+\.py)`", (ROOT / "docs/layout.md").read_text()))
    assert sorted(_modules() - named) == [], "modules missing from docs/layout.md"
    assert sorted(named - _modules()) == [], "docs/layout.md names modules that do not exist"


def test_the_readme_is_short_and_links_every_docs_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)\)", readme))
    assert linked == pages


def test_every_local_link_of_the_docs_resolves() -> None:
    broken = []
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} → {target}")
    assert broken == []
