"""
CometChat compatibility tests: apps written the way CometChat's web docs write them, run against our server.

The server, the browser and the app come from the browser tests (tests/browser/conftest.py); each person is a
page of our site, in a browser context of its own, with the SDK loaded as an app loads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.call_page import load_sdk
from tests.browser.conftest import (  # noqa: F401 (fixtures)
    app_server,
    browser,
    live_server_url,
    manage,
    open_page,
    playwright_instance,
    recordings_dir,
    server_database_url,
    server_env,
)

EVENT_TIMEOUT_MS = 20_000


@dataclass
class Person:
    """Someone using an app built on the SDK: the page it runs in, and what its console and page errors said."""

    page: Page
    console: list[str]
    page_errors: list[str] = field(default_factory=list)

    def run(self, script: str, arg: Any = None) -> Any:
        """Run ``script`` (an async function of ``arg``) in the page; return its JSON form."""
        return self.page.evaluate(f"async (arg) => JSON.parse(JSON.stringify(await ({script})(arg) ?? null))", arg)

    def events(self, name: str) -> list[Any]:
        """The arguments of every ``name`` event the app has heard, in order."""
        return [event[1] for event in self.page.evaluate("window.app.events") if event[0] == name]

    def wait_for_event(self, name: str, where: str = "(argument) => true") -> Any:
        """
        Wait until the app has heard ``name`` with an argument for which ``where`` (a JS function) is true;
        return the first such argument.
        """
        test = f"([name, argument]) => name === {json.dumps(name)} && ({where})(argument)"
        self.page.wait_for_function(f"() => window.app.events.some({test})", timeout=EVENT_TIMEOUT_MS)
        return self.page.evaluate(f"() => window.app.events.find({test})[1]")


@pytest.fixture
def person(open_page: Callable[..., Page], live_server_url: str) -> Callable[[], Person]:  # noqa: F811
    """Open our site's home page as a new person and load the SDK into it (not initialised)."""

    def open_() -> Person:
        console: list[str] = []
        page = load_sdk(open_page(live_server_url + "/", console=console))
        someone = Person(page, console)
        page.on("pageerror", lambda error: someone.page_errors.append(str(error)))
        return someone

    return open_
