"""
Adaptive stream end to end: the SDK reports how big it shows each remote video (``video_views``)
and the SFU forwards the simulcast layer that fits, or nothing for a video nobody can see.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .call_page import REMOTE_TILES, Call, tile, wait_for_remote_media
from .media_meter import METER_SCRIPT

pytestmark = pytest.mark.browser

LOW_LAYER_HEIGHT = 180
LAYER_SWITCH_TIMEOUT_MS = 10_000
# The publisher starts on its lower layers and climbs; the middle one comes within seconds.
ABOVE_LOW_LAYER_TIMEOUT_MS = 20_000
QUIET_MS = 2_000
QUIET_TIMEOUT_MS = 10_000
RESUME_TIMEOUT_MS = 10_000
# Frames that show video flows again, not one late packet.
RESUMED_FRAMES = 10
TINY_VIEWPORT = {"width": 320, "height": 240}

# The remote video's picture height on the viewer's page.
VIDEO_HEIGHT = "(selector) => { const v = document.querySelector(selector + ' video'); return v ? v.videoHeight : 0; }"
# framesDecoded of `participantId`'s video (media_meter's stats). Playwright does not await a predicate's
# promise: each poll starts a getStats() and judges the last one that finished, as media_meter does.
REFRESH = """
const meter = window.__meter;
if (!meter.refreshing) {
  meter.refreshing = true;
  meter.stats().then((latest) => { meter.latest = latest; }).finally(() => { meter.refreshing = false; });
}
const inbound = meter.latest && meter.latest.inbound[participantId];
const decoded = inbound ? inbound.framesDecoded : null;
"""
# True once framesDecoded has not moved for `quietMs`.
DECODING_STOPPED = f"""
([participantId, quietMs]) => {{
  {REFRESH}
  if (decoded === null) return false;
  const quiet = (meter.quiet ||= {{ value: -1, since: 0 }});
  if (quiet.value !== decoded) {{
    quiet.value = decoded;
    quiet.since = performance.now();
    return false;
  }}
  return performance.now() - quiet.since >= quietMs;
}}
"""
# True once framesDecoded exceeds `above`.
DECODED_ABOVE = f"""
([participantId, above]) => {{
  {REFRESH}
  return decoded !== null && decoded > above;
}}
"""


def frames_decoded(page: Page, participant_id: str) -> int:
    inbound = page.evaluate("window.__meter.stats()")["inbound"]
    return int(inbound.get(participant_id, {}).get("framesDecoded", 0))


def wait_decoding_past(page: Page, participant_id: str, frames: int, timeout_ms: int) -> None:
    page.wait_for_function(DECODED_ABOVE, arg=[participant_id, frames], polling=200, timeout=timeout_ms)


def test_a_tiny_tile_gets_the_low_layer_and_a_hidden_one_gets_nothing(new_call: Callable[..., Call]) -> None:
    """
    A viewer's remote video shrunk to a thumbnail receives the 180p layer; hidden, no frames at all;
    shown again, frames resume.
    """
    session = new_call(title="Adaptive")
    publisher_id = session.join("Pub").participant_id
    viewer = session.join("View", init_script=METER_SCRIPT).page
    wait_for_remote_media(viewer, count=1)
    remote = tile(viewer, publisher_id)
    selector = f'{REMOTE_TILES}[data-participant-id="{publisher_id}"]'

    wait_decoding_past(viewer, publisher_id, frames_decoded(viewer, publisher_id), RESUME_TIMEOUT_MS)
    viewer.wait_for_function(
        f"(selector) => ({VIDEO_HEIGHT})(selector) > {LOW_LAYER_HEIGHT}",
        arg=selector,
        polling=200,
        timeout=ABOVE_LOW_LAYER_TIMEOUT_MS,
    )

    viewer.set_viewport_size(TINY_VIEWPORT)
    viewer.wait_for_function(
        f"(selector) => ({VIDEO_HEIGHT})(selector) === {LOW_LAYER_HEIGHT}",
        arg=selector,
        polling=200,
        timeout=LAYER_SWITCH_TIMEOUT_MS,
    )
    # The tile's network indicator says what arrives.
    expect(remote.locator(".cc-tile__network")).to_have_attribute(
        "data-video-height", str(LOW_LAYER_HEIGHT), timeout=LAYER_SWITCH_TIMEOUT_MS
    )

    remote.evaluate("(element) => { element.style.display = 'none'; }")
    viewer.evaluate("() => { window.__meter.quiet = null; }")
    viewer.wait_for_function(DECODING_STOPPED, arg=[publisher_id, QUIET_MS], polling=200, timeout=QUIET_TIMEOUT_MS)

    stopped_at = frames_decoded(viewer, publisher_id)
    remote.evaluate("(element) => { element.style.display = ''; }")
    wait_decoding_past(viewer, publisher_id, stopped_at + RESUMED_FRAMES, RESUME_TIMEOUT_MS)
