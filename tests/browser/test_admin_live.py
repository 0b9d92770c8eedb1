"""Operators act on real calls from the admin's live page; the browsers in the call feel it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.call_page import CONTAINER, ROOT, Call, expect_state, tile

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

OPERATOR_PASSWORD = "operator-password-for-browser-tests"


@pytest.fixture
def operator_page(manage: Callable[..., str], live_server_url: str, open_page: Callable[..., Page]) -> Page:
    """A staff user logged in to the admin, on the live calls page."""
    manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "User.objects.filter(username='operator').exists() or "
        f"User.objects.create_superuser('operator', 'op@example.org', {OPERATOR_PASSWORD!r})",
    )
    page = open_page(f"{live_server_url}/admin/login/?next=/admin/sessions_app/callsession/live/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", OPERATOR_PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#live-calls")).to_be_visible()
    page.on("dialog", lambda dialog: dialog.accept())
    return page


def row(operator: Page, participant_id: str):  # -> a Playwright Locator
    return operator.locator(f'#live-calls tr[data-participant-id="{participant_id}"]')


def test_admin_mutes_removes_and_ends_in_real_browsers(new_call: Callable[..., Call], operator_page: Page) -> None:
    """Mute reaches the participant, remove drops them with a reason, end closes the call for all."""
    (ann, ann_id), (bob, bob_id) = new_call(title="Moderated").join_all("Ann", "Bob", at_once=True)

    # The live page picks both up by itself (htmx polling), with their state.
    expect(row(operator_page, ann_id)).to_contain_text("Ann", timeout=10_000)
    expect(row(operator_page, bob_id)).to_contain_text("Bob", timeout=10_000)
    # The SFU's view of each one's media: the simulcast layers their camera arrives in.
    expect(row(operator_page, ann_id).locator("[data-sends-layers]")).to_contain_text("sends", timeout=15_000)

    row(operator_page, ann_id).locator('[data-action="mute"]').click()
    expect(ann.locator(f'{CONTAINER} [data-local="true"]')).to_have_attribute("data-audio-muted", "true")
    expect(tile(bob, ann_id)).to_have_attribute("data-audio-muted", "true")
    expect(row(operator_page, ann_id)).to_contain_text("muted")

    row(operator_page, bob_id).locator('[data-action="remove"]').click()
    expect_state(bob, "left")
    expect(bob.locator(ROOT)).to_have_attribute("data-left-reason", "removed")
    expect(bob.locator(ROOT)).to_contain_text("You were removed from this call")
    expect(tile(ann, bob_id)).to_have_count(0, timeout=5_000)
    expect(row(operator_page, bob_id)).to_have_count(0, timeout=10_000)

    operator_page.locator('[data-action="end-session"]').first.click()
    expect_state(ann, "ended")
    expect(operator_page.locator("#live-calls")).to_contain_text("ended for everyone")
