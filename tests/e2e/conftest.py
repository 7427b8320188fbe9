"""A real server (uvicorn on a free localhost port) and Debian's Chromium driven by Playwright.

The app runs over a private copy of ``trained_home``'s store. Screenshots of each page go to
``tests/e2e/artifacts/`` (git-ignored), kept as artifacts of the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.app import create_app
from risk_model.config import Settings

CHROMIUM = os.environ.get("PMO_RISK_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def e2e_settings(trained_home: Settings, copy_store: Callable[..., Settings]) -> Settings:
    # The PDF report (10 project pages, WeasyPrint) can take over the 60 s request limit on a
    # loaded 2-core machine; the browser then sees a 504 and cancels the download.
    return copy_store(trained_home, "e2e").model_copy(update={"request_timeout": 600.0})


@pytest.fixture(scope="module")
def api_headers(e2e_settings: Settings) -> dict[str, str]:
    """An admin key in the app's store, sent as a header by the browser and by HTTP checks."""
    from risk_model.keys import KeyRing
    from risk_model.store import Store

    store = Store(e2e_settings.store_url).init()
    try:
        key = str(KeyRing(store).create("admin", "e2e", [])[1])
    finally:
        store.dispose()
    return {"X-API-Key": key}


@pytest.fixture(scope="module")
def base_url(e2e_settings: Settings, api_headers: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    config = uvicorn.Config(
        create_app(e2e_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    else:  # pragma: no cover - start-up failure
        server.should_exit = True
        pytest.fail("the app did not start within 120 s")
    # warm the portfolio board so page loads in the browser are quick
    httpx.get(f"{url}/", timeout=300, headers=api_headers)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, base_url: str, api_headers: dict[str, str]) -> Iterator[Any]:
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": 1366, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(240_000)
    p = context.new_page()
    # Sign in as a PMO user would: the login page sets the session cookie.
    p.goto("/login")
    p.get_by_label("API key").fill(api_headers["X-API-Key"])
    p.get_by_label("API key").press("Enter")
    p.wait_for_url(f"{base_url}/")
    yield p
    context.close()
