"""Who is a moderator: app servers, the call's host, never a guest (issue 14's roles, over REST and pages)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from sessions_app import errors, hosting
from sessions_app.models import App, AppUser, AuthToken, CallSession, CallToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def acme() -> tuple[App, str, AppUser, str]:
    app, api_key, _ = App.create_with_keys("Acme")
    user = AppUser.objects.create(app=app, uid="ann", name="Ann")
    _, auth_token = AuthToken.issue(user)
    return app, api_key, user, auth_token


def post(client: Client, path: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    response = client.post(f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers)
    return response.status_code, response.json()


def record_of(token_response: dict[str, Any]) -> CallToken:
    return CallToken.objects.get(uid=token_response["data"]["uid"], role=token_response["data"]["role"])


def test_an_app_server_decides_the_role_of_the_tokens_it_mints(acme: tuple[App, str, AppUser, str]) -> None:
    """POST /tokens with the apikey takes `role`; without it, users are participants."""
    app, api_key, _, _ = acme
    session = CallSession.objects.create(app=app)
    keys = {"appid": app.app_id, "apikey": api_key}
    status, body = post(
        Client(), "/tokens", {"sessionId": session.session_id, "uid": "ann", "role": "moderator"}, **keys
    )
    assert (status, body["data"]["role"]) == (201, "moderator")
    status, body = post(Client(), "/tokens", {"sessionId": session.session_id, "uid": "ann"}, **keys)
    assert (status, body["data"]["role"]) == (201, "participant")
    status, body = post(Client(), "/tokens", {"sessionId": session.session_id, "uid": "ann", "role": "host"}, **keys)
    assert (status, body["error"]["code"]) == (400, errors.ERR_BAD_REQUEST)


def test_a_user_cannot_make_itself_a_moderator(acme: tuple[App, str, AppUser, str]) -> None:
    """generateToken (authtoken) asking for `moderator` is refused unless the session names the user."""
    app, _, _, auth_token = acme
    session = CallSession.objects.create(app=app)
    headers = {"appid": app.app_id, "authtoken": auth_token}
    status, body = post(Client(), "/tokens", {"sessionId": session.session_id, "role": "moderator"}, **headers)
    assert (status, body["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)
    status, body = post(Client(), "/tokens", {"sessionId": session.session_id}, **headers)
    assert (status, body["data"]["role"]) == (201, "participant")


def test_a_session_names_its_moderators(acme: tuple[App, str, AppUser, str]) -> None:
    """POST /sessions with `moderators` and `maxParticipants`: those users' own tokens make them moderators."""
    app, api_key, _, auth_token = acme
    keys = {"appid": app.app_id, "apikey": api_key}
    status, body = post(Client(), "/sessions", {"moderators": ["ann"], "maxParticipants": 8}, **keys)
    assert status == 201 and body["data"]["moderators"] == ["ann"] and body["data"]["maxParticipants"] == 8
    session_id = body["data"]["sessionId"]
    status, body = post(Client(), "/tokens", {"sessionId": session_id}, appid=app.app_id, authtoken=auth_token)
    assert (status, body["data"]["role"]) == (201, "moderator")
    for bad in ({"maxParticipants": 0}, {"maxParticipants": "9"}, {"moderators": "ann"}, {"moderators": ["a b"]}):
        status, body = post(Client(), "/sessions", bad, **keys)
        assert status == 400, bad


def test_share_link_guests_are_never_moderators() -> None:
    session = CallSession.objects.create()
    status, body = post(Client(), f"/sessions/{session.session_id}/guest_token", {"displayName": "Eve"})
    assert (status, body["data"]["role"]) == (201, "participant")
    assert record_of(body).is_guest
    status, body = post(
        Client(), f"/sessions/{session.session_id}/guest_token", {"displayName": "Eve", "hostGrant": "forged:grant"}
    )
    assert (status, body["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)


def call_config(response: Any) -> dict[str, Any]:
    match = re.search(r'<script id="call-config" type="application/json">(.*?)</script>', response.content.decode())
    assert match, "the page has its call config"
    return json.loads(match.group(1))


def test_the_browser_that_creates_a_call_hosts_it() -> None:
    """The home page's creator gets a host grant on the share page; its token is a moderator's, not a guest's."""
    creator = Client()
    home = creator.post("/", {"title": "Standup", "type": "VIDEO"})
    session = CallSession.objects.get(title="Standup")
    assert hosting.host_url(session.session_id).split("/s/")[1] in home.content.decode()
    config = call_config(creator.get(f"/s/{session.session_id}/"))
    assert config["isHost"] is True and config["hostGrant"]
    status, body = post(
        Client(),
        f"/sessions/{session.session_id}/guest_token",
        {"displayName": "Host", "hostGrant": config["hostGrant"]},
    )
    assert (status, body["data"]["role"]) == (201, "moderator")
    assert not record_of(body).is_guest

    visitor = call_config(Client().get(f"/s/{session.session_id}/"))
    assert visitor["isHost"] is False and visitor["hostGrant"] == ""


def test_a_host_link_makes_its_opener_a_host() -> None:
    session = CallSession.objects.create()
    other = CallSession.objects.create()
    browser = Client()
    assert browser.get(f"/s/{session.session_id}/host/{hosting.host_key(other.session_id)}/").status_code == 404
    response = browser.get(f"/s/{session.session_id}/host/{hosting.host_key(session.session_id)}/")
    assert response.status_code == 302 and response["Location"] == f"/s/{session.session_id}/"
    assert call_config(browser.get(f"/s/{session.session_id}/"))["isHost"] is True


def test_a_host_grant_is_for_one_call_only() -> None:
    session, other = CallSession.objects.create(), CallSession.objects.create()
    grant = hosting.host_grant(session.session_id)
    status, body = post(Client(), f"/sessions/{other.session_id}/guest_token", {"hostGrant": grant})
    assert (status, body["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)
