"""The Dagster UI as `make run` serves it (`dagster dev`), clicked through in Chromium."""

import json
import re
from dataclasses import replace

import pytest

from playground.cli import run
from playground.config.settings import get_settings
from playground.orchestration.instance import dagster_home
from tests.browser.conftest import screenshot, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GROUPS = ("iris", "lessons", "marts", "pagila", "staging")


def test_the_graph_shows_every_group_and_a_click_materializes_the_tour(page, tmp_path) -> None:
    from playwright.sync_api import expect

    home = dagster_home(replace(get_settings(), data_dir=tmp_path))
    command, env = run.dagster_dev("{port}", {"DAGSTER_HOME": str(home)})
    log = tmp_path / "dagster.log"
    with serve(command, "/server_info", log, env, timeout=180) as base:
        page.goto(base + "/asset-groups")
        for group in GROUPS:
            expect(page.get_by_text(group, exact=True).first).to_be_visible(timeout=120_000)
        assert "Join the Dagster community" not in page.inner_text("body")
        screenshot(page, "dagster-asset-graph", whole=False)

        page.goto(base + "/assets/lessons/tour")
        page.locator("button", has_text="Materialize").first.click()
        confirm = page.get_by_role("button", name="Confirm")  # iris is not built in this instance
        confirm.wait_for(timeout=10_000)
        confirm.click()
        launched = page.locator("a[href*='/runs/']").first
        launched.wait_for(timeout=30_000)
        run_path = launched.get_attribute("href")
        assert re.fullmatch(r"/runs/[0-9a-f-]{36}", run_path), run_path

        page.goto(base + run_path)
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=300_000)
        notebook = home / "storage" / "lessons" / "tour.ipynb"  # the executed notebook
        expect(page.get_by_text(str(notebook)).first).to_be_visible(timeout=30_000)
        assert "Executed notebook" in page.inner_text("body")
        assert "RUN_SUCCESS" in page.inner_text("body")
        executed = json.loads(notebook.read_text())
        assert any(cell.get("outputs") for cell in executed["cells"])  # it ran, outputs kept
        screenshot(page, "dagster-tour-run", whole=False)
    server_log = log.read_text()
    assert "SupersessionWarning" not in server_log, server_log[:2000]
    assert "code location name" not in server_log, server_log[:2000]
