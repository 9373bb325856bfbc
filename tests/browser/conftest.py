"""Browser tests: the system's Chromium, driven by playwright, against UIs the tests serve.

Chromium comes from the system (Debian's `chromium`; `.ci/run` installs it when missing), never
from `playwright install`. Without it these tests skip, naming the install command. With
SCREENSHOTS=<folder> in the environment (`make screenshots`) they also save full-page pictures.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from playground.services.net import wait_http
from tests.helpers import BIN, ROOT, free_port

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CANDIDATES = ("chromium", "chromium-browser", "google-chrome",
              "/Applications/Chromium.app/Contents/MacOS/Chromium",
              "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")  # fmt: skip
INSTALL = ("install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; macOS: "
           "`brew install --cask chromium`) or set CHROMIUM=/path/to/chromium")  # fmt: skip


def chromium() -> str | None:
    """The browser to drive: $CHROMIUM, else the first Chromium or Chrome found."""
    for candidate in (os.environ.get("CHROMIUM"), *CANDIDATES):
        if candidate and (
            found := shutil.which(candidate) or (Path(candidate).is_file() and candidate)
        ):
            return str(found)
    return None


@pytest.fixture(scope="module")  # closed after each module: no browser beside other tests
def browser():
    path = chromium()
    if path is None:
        pytest.skip(f"no Chromium here: {INSTALL}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def screenshot(page, name: str, whole: bool = True) -> None:
    """Save a picture as <SCREENSHOTS>/<name>.png when SCREENSHOTS is set: the whole page, or the
    viewport (`whole=False`, for UIs that fill the window, like Dagster's)."""
    if folder := os.environ.get("SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        if not whole:
            page.screenshot(path=str(Path(folder) / f"{name}.png"))
            return
        # marimo scrolls inside a container, so a "full page" is the viewport: grow it instead.
        size = page.viewport_size
        tallest = page.evaluate(
            "() => Math.max(...Array.from(document.querySelectorAll('*'), e => e.scrollHeight))"
        )
        page.set_viewport_size({"width": size["width"], "height": min(tallest, 8000)})
        page.wait_for_timeout(500)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))
        page.set_viewport_size(size)


@contextmanager
def serve(command: list[str], health: str, log: Path, env: dict[str, str] | None = None,
          timeout: float = 60, stdin: str | None = None) -> Iterator[str]:  # fmt: skip
    """Run a server (its command takes `{port}`) on a free loopback port; yield its base URL and
    stop it by PID at the end. `stdin`, when given, is written to the server's stdin (a secret)."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [part.format(port=port) for part in command], stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=True, cwd=ROOT,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        )  # fmt: skip
    if stdin is not None:
        process.stdin.write(stdin.encode())
        process.stdin.close()
    base = f"http://127.0.0.1:{port}"
    try:
        if wait_http(base + health, timeout, process) is None:
            raise RuntimeError(f"{command[0]} did not answer {base + health}; see {log}")
        yield base
    finally:  # Ctrl-C to its whole process group (a server's workers too), then SIGKILL
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def marimo_app(lesson: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`marimo run` (app view, as a learner opens a lesson) serving `lesson`."""
    command = [str(BIN / "marimo"), "run", "--headless", "--no-token", "--host", "127.0.0.1",
               "--port", "{port}", str(lesson)]  # fmt: skip
    with serve(command, "/health", log, env) as base:
        yield base


@contextmanager
def marimo_editor(log: Path, token: str, home: Path) -> Iterator[str]:
    """`marimo edit notebooks/` exactly as `playground run` starts it (its access token read from
    stdin), for a learner whose HOME is `home`; yields the base URL."""
    from playground.cli.run import marimo_edit

    env = {"HOME": str(home), "XDG_STATE_HOME": str(home / ".local" / "state"),  # recent files
           "XDG_CONFIG_HOME": str(home / ".config")}  # fmt: skip
    with serve(marimo_edit("{port}"), "/health", log, env, stdin=token) as base:
        yield base


def says_right(page, title: str, timeout: float = 120_000) -> None:
    """The exercise's check says ✅ (a verdict shown before may still be on the page while the
    check runs); without ✅ in time, fail with what it says instead (❌ or ⚠ and why)."""
    from playwright.sync_api import TimeoutError as Timeout

    try:
        page.get_by_text(f"✅ {title}").wait_for(timeout=timeout)
    except Timeout:
        other = page.get_by_text(f"❌ {title}").or_(page.get_by_text(f"⚠ {title}"))
        said = other.first.locator("xpath=..").inner_text() if other.count() else "nothing"
        pytest.fail(f"no ✅ for {title!r} after {timeout / 1000:.0f} s; the check says: {said}")


def type_answer(page, placeholder: str, answer: str, title: str) -> None:
    """Type `answer` into the exercise box with `placeholder`; its check must say ✅."""
    box = page.get_by_placeholder(placeholder)
    box.fill(answer)
    box.press("Tab")  # the box sends its value when it loses focus
    says_right(page, title)


# A drawn Vega chart. Locators pierce shadow roots (marimo renders some outputs in them), where
# document.querySelectorAll would not.
CHARTS = ".vega-embed canvas, .vega-embed svg.marks"


def wait_until_settled(page, charts: int, timeout: float = 300) -> str:
    """Wait until `charts` Vega charts are drawn and the page text stops changing for 3 s;
    returns that text."""
    deadline = time.monotonic() + timeout
    while (drawn := page.locator(CHARTS).count()) < charts:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{drawn} of {charts} charts drawn after {timeout:.0f} s")
        page.wait_for_timeout(500)
    text, stable_since = page.inner_text("body"), time.monotonic()
    while time.monotonic() - stable_since < 3:
        page.wait_for_timeout(500)
        now = page.inner_text("body")
        if now != text:
            text, stable_since = now, time.monotonic()
    return text
