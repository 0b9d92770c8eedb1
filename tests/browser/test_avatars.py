"""
Avatars: a user's picture (their ``avatar``, set through the REST API) where a tile or a participant-list
row shows initials, the initials where there is none or it does not load, and only http(s) pictures.

The pictures are served by the test server itself (a static file): the tests never reach the internet,
and the pages' CSP lets them in as 'self' (https: is allowed for other hosts' avatars, plain http: is not).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .call_page import call, join_with_token, load_sdk, tile
from .rest import AppServer

pytestmark = pytest.mark.browser

AVATAR_PATH = "/static/calls/favicon.svg"
MISSING_AVATAR_PATH = "/static/calls/no-such-avatar.png"


def joined(open_page: Callable[..., Page], app: AppServer, uid: str, session_id: str, **settings: object) -> dict:
    """``uid`` joins ``session_id`` from a page of the site through the SDK, with a call token; joinSession's data."""
    page = load_sdk(open_page(f"{app.base_url}/"))
    data = join_with_token(page, app.app_id, app.base_url, app.call_token(uid, session_id), settings)
    return {**data, "page": page}


def test_a_users_avatar_replaces_the_initials_on_tiles_and_list_rows(
    open_page: Callable[..., Page], app_server: AppServer
) -> None:
    """
    With the camera off, the tile and the participant-list row of a user with an avatar show that picture;
    one whose picture does not load keeps the initials (no broken image); participants carry the avatar.
    """
    avatar = app_server.base_url + AVATAR_PATH
    session_id = app_server.create_session()["sessionId"]
    app_server.create_user("ann", "Ann Avery", avatar=avatar)
    app_server.create_user("bob", "Bob Broken", avatar=app_server.base_url + MISSING_AVATAR_PATH)
    app_server.create_user("cy", "Cy")
    ann_id = joined(open_page, app_server, "ann", session_id, startVideoPaused=True)["participantId"]
    bob_id = joined(open_page, app_server, "bob", session_id, startVideoPaused=True)["participantId"]
    cy = joined(open_page, app_server, "cy", session_id)
    page = cy["page"]
    assert {p["pid"]: p["avatar"] for p in cy["participants"]}[ann_id] == avatar

    ann_avatar = tile(page, ann_id).locator(".cc-avatar")
    expect(ann_avatar.locator("img.cc-avatar__image")).to_have_attribute("src", avatar)
    expect(ann_avatar).to_have_attribute("data-image", "loaded")
    expect(ann_avatar.locator("img")).to_be_visible()
    expect(ann_avatar.locator(".cc-avatar__initials")).to_be_hidden()
    bob_avatar = tile(page, bob_id).locator(".cc-avatar")
    expect(bob_avatar.locator("img")).to_have_count(0)
    expect(bob_avatar.locator(".cc-avatar__initials")).to_have_text("BB")
    expect(bob_avatar.locator(".cc-avatar__initials")).to_be_visible()

    assert call(page, "showParticipantList()")["error"] is None
    ann_row = page.locator(f"#cc-participant-panel [data-pid='{ann_id}'] .cc-avatar")
    expect(ann_row.locator("img.cc-avatar__image")).to_have_attribute("src", avatar)
    expect(ann_row).to_have_attribute("data-image", "loaded")
    bob_row = page.locator(f"#cc-participant-panel [data-pid='{bob_id}'] .cc-avatar")
    expect(bob_row.locator("img")).to_have_count(0)
    expect(bob_row.locator(".cc-avatar__initials")).to_have_text("BB")


def test_the_sdk_takes_only_http_avatars(open_page: Callable[..., Page], live_server_url: str) -> None:
    """A participant's avatar that is not an absolute http(s) URL (javascript:, data:, a path) becomes ""."""
    page = open_page(f"{live_server_url}/")
    avatars = page.evaluate(
        """async () => {
          const { makeParticipant } = await import("/static/calls/participant-model.js");
          const given = ["javascript:alert(1)", "JavaScript:alert(1)", "data:image/png;base64,AAAA", "/a.png",
            "ftp://example.org/a.png", "https://example.org/a.png", "http://127.0.0.1:9/a.png", 42];
          return given.map((avatar) => makeParticipant({ pid: "p", avatar }, false).avatar);
        }"""
    )
    assert avatars == ["", "", "", "", "", "https://example.org/a.png", "http://127.0.0.1:9/a.png", ""]
