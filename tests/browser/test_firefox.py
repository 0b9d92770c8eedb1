"""Chromium and Firefox participants share one call (Debian's stock Firefox ESR over WebDriver BiDi)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.call_page import join_url, wait_for_remote_media

FIREFOX_DRIVER_DIR = Path(__file__).resolve().parents[1] / "firefox"
FIREFOX_JOIN_TIMEOUT_MS = 40_000
# The rids the server's offer asks a camera for, lowest layer first.
SIMULCAST_RIDS = ("q", "h", "f")

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]


def test_chromium_and_firefox_see_and_hear_each_other_and_firefox_sends_simulcast(
    create_session: Callable[..., str], open_page: Callable[..., Page]
) -> None:
    """
    A Firefox participant and a Chromium participant each play the other's video; Firefox answers the
    server's offer with the three simulcast layers it asked for, and encodes each at its own size.
    """
    node = shutil.which("node")
    assert node, "node is required (scripts/test.sh installs the Firefox driver with npm)"
    share_url = create_session("Cross-browser")
    firefox = subprocess.Popen(
        [node, "join_call.mjs", join_url(share_url, "Fox"), "1", str(FIREFOX_JOIN_TIMEOUT_MS)],
        cwd=FIREFOX_DRIVER_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        chromium = open_page(join_url(share_url, "Chrome"))
        wait_for_remote_media(chromium, 1)
        assert firefox.stdout is not None
        report = json.loads(firefox.stdout.readline() or '{"ok": false, "error": "no report"}')
        assert report["ok"], report
        assert report["simulcast"] == ["a=simulcast:send q;h;f"], report
        assert report["rids"] == [f"a=rid:{rid} send" for rid in SIMULCAST_RIDS], report
        layers = {layer["rid"]: layer for layer in report["outbound"]}
        assert sorted(layers) == sorted(SIMULCAST_RIDS), report
        assert all(layer["framesEncoded"] >= 30 for layer in layers.values()), report
        heights = [layers[rid]["frameHeight"] for rid in SIMULCAST_RIDS]
        assert 0 < heights[0] < heights[1] < heights[2], report
    finally:
        if firefox.stdin is not None:
            firefox.stdin.close()
        try:
            firefox.wait(timeout=20)
        except subprocess.TimeoutExpired:
            firefox.kill()
            firefox.wait()
        if firefox.stdout is not None:
            firefox.stdout.close()
