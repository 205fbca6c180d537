"""The web page in a real headless Chromium: load it, run a CCI simulation, see the figure
and the benefit; with a token, the page takes it from the URL fragment.

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``); skipped without them unless ``EXERPAIN_REQUIRE_BROWSER=1``
(then it fails). The screenshot of the finished page is saved in the test's temporary folder
(``page.png``).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from exerpain.interfaces.web.app import ServerSettings, create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TOKEN = "browser-token-0123456789abcdef"
FIGURE_TIMEOUT_S = 150  # the first simulation compiles its solver


def _need_browser() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium")
    if missing:
        message = f"no browser to test the page with: {', '.join(missing)} missing"
        if os.environ.get("EXERPAIN_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """uvicorn serving ``create_app(settings)`` in a background thread."""

    def __init__(self, settings: ServerSettings):
        import uvicorn

        self.port = _free_port()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port,
                                log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator:
    _need_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1100",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _options_loaded(driver) -> bool:
    return driver.execute_script(
        "return document.querySelectorAll('#condition option').length > 0")


def test_page_runs_a_cci_simulation_and_shows_the_figure(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    with _Server(ServerSettings()) as url:
        browser.get(url + "/")
        WebDriverWait(browser, 30).until(_options_loaded)
        Select(browser.find_element(By.ID, "condition")).select_by_value("cci")
        Select(browser.find_element(By.ID, "protocol")).select_by_value("treadmill-moderate")
        browser.find_element(By.ID, "run").click()

        def figure_shown(driver) -> bool:
            errors = driver.find_element(By.ID, "errors").text
            assert not errors, f"the page shows an error: {errors}"
            return driver.execute_script(
                "const img = document.getElementById('figure');"
                "return !img.hidden && img.complete && img.naturalWidth > 0;")

        WebDriverWait(browser, FIGURE_TIMEOUT_S, poll_frequency=0.5).until(figure_shown)
        headline = browser.find_element(By.ID, "headline")
        assert "Benefit" in headline.text and "g" in headline.text, headline.text
        assert float(headline.get_attribute("data-benefit")) > 0
        assert browser.find_element(By.ID, "status").text.startswith("Done")
        WebDriverWait(browser, 10).until(
            lambda d: "cci" in d.find_element(By.ID, "runs").text)
        browser.save_screenshot(str(tmp_path / "page.png"))
    assert (tmp_path / "page.png").read_bytes().startswith(b"\x89PNG")


def test_page_sends_the_token_from_the_fragment(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with _Server(ServerSettings(token=TOKEN)) as url:
        browser.get(url + "/#token=" + TOKEN)
        WebDriverWait(browser, 30).until(_options_loaded)
        browser.get("about:blank")
        browser.get(url + "/")  # no token: the page says how to give it
        WebDriverWait(browser, 30).until(
            lambda d: "needs a token" in d.find_element(By.ID, "errors").text)
        assert not browser.find_element(By.ID, "run").is_enabled()
