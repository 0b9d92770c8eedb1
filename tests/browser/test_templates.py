"""The page templates as Django renders them (no browser needed)."""

from __future__ import annotations

import pytest
from django.test import Client

from sessions_app.models import CallSession

pytestmark = pytest.mark.django_db


def test_the_404_page_says_the_call_does_not_exist(client: Client, settings: object) -> None:
    """With DEBUG off, an unknown call renders the 404 template with a way home."""
    settings.DEBUG = False  # type: ignore[attr-defined]
    response = client.get("/s/doesnotexist/")
    assert response.status_code == 404
    assert b"This call does not exist" in response.content
    assert b'href="/"' in response.content


def test_session_page_passes_its_config_as_json_and_runs_no_inline_script(client: Client) -> None:
    """The call config travels in a json_script block; the only script is the app module (CSP-ready)."""
    session = CallSession.objects.create(title="</script><script>alert(1)</script>")
    content = client.get(f"/s/{session.session_id}/").content.decode()
    assert '<script id="call-config" type="application/json">' in content
    assert "<script>alert(1)" not in content
    assert content.count("<script") == 2
    assert 'type="module" src="/static/calls/app.js"' in content
    assert " style=" not in content


def test_home_page_shows_the_new_call_link_with_copy_and_open(client: Client) -> None:
    """After starting a call the home page shows its link read-only, a Copy button and an Open call link."""
    content = client.post("/", {"title": "Standup", "type": "VIDEO"}).content.decode()
    session = CallSession.objects.get()
    assert f'value="http://testserver/s/{session.session_id}/" readonly' in content
    assert 'data-copy-target="share-link"' in content
    assert f'href="http://testserver/s/{session.session_id}/" id="open-call"' in content


def test_session_page_config_carries_the_session_defaults(client: Client) -> None:
    """The pre-join screen starts from the session's defaults (its app's, then its own) and knows its locks."""
    session = CallSession.objects.create(
        title="Board", settings={"startVideoPaused": True}, locked_settings=["startVideoPaused"]
    )
    response = client.get(f"/s/{session.session_id}/")
    config = response.context["call_config"]
    assert config["settings"] == {"title": "Board", "sessionType": "VIDEO", "startVideoPaused": True}
    assert config["lockedSettings"] == ["startVideoPaused"]
