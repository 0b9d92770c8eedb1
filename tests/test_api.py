"""REST API v1: every endpoint against its own OpenAPI schema, every error code, token security."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from sessions_app import errors
from sessions_app.api.openapi import openapi_schema
from sessions_app.models import (
    App,
    AppUser,
    AuthToken,
    CallSession,
    CallToken,
    Participant,
    SessionStatus,
    hash_secret,
)
from sessions_app.tokens import CallTokenError, CallTokenGenerator, call_tokens

pytestmark = pytest.mark.django_db

SPEC = openapi_schema()


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


@pytest.fixture
def app_keys() -> tuple[App, str, str]:
    return App.create_with_keys("Acme")


class Api:
    """A client that checks every response against the OpenAPI schema of its path and method."""

    def __init__(self, client: Client, app: App, api_key: str) -> None:
        self.client = client
        self.app = app
        self.api_key = api_key

    def call(self, method: str, path: str, template: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        response = self.client.generic(
            method,
            "/api/v1" + path,
            data=json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers=headers,
        )
        payload = response.json()
        operation = SPEC["paths"][template][method.lower()]
        declared = operation["responses"].get(str(response.status_code))
        assert declared is not None, f"{method} {template} answered an undocumented {response.status_code}"
        if "$ref" in declared:
            declared = SPEC["components"]["responses"]["Error"]
        schema = declared["content"]["application/json"]["schema"]
        jsonschema.validate(payload, {**schema, "components": SPEC["components"]})
        return response.status_code, payload

    def server(self, method: str, path: str, template: str, body: Any = None) -> tuple[int, Any]:
        return self.call(method, path, template, body, appid=self.app.app_id, apikey=self.api_key)


@pytest.fixture
def api(client: Client, app_keys: tuple[App, str, str]) -> Api:
    app, api_key, _ = app_keys
    return Api(client, app, api_key)


def error_code(payload: dict[str, Any]) -> str:
    return payload["error"]["code"]


def test_openapi_schema_is_served_and_lists_every_route(client: Client) -> None:
    """The schema at /api/v1/openapi.json documents every API route."""
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert set(schema["paths"]) == {
        "/users", "/users/{uid}", "/users/{uid}/auth_tokens", "/users/{uid}/auth_tokens/{tokenId}", "/login",
        "/me",
        "/logout", "/tokens", "/sessions", "/sessions/{sessionId}", "/sessions/{sessionId}/end",
        "/sessions/{sessionId}/guest_token", "/recordings/{rid}/file",
        "/calls",
        "/calls/{sessionId}",
    }  # fmt: skip
    jsonschema.Draft202012Validator.check_schema(schema["components"]["schemas"]["Error"])


def test_create_app_prints_credentials_once_and_stores_hashes() -> None:
    """create_app prints JSON credentials; the database holds only hashes and prefixes."""
    out = io.StringIO()
    call_command("create_app", "--name", "Demo", stdout=out)
    credentials = json.loads(out.getvalue())
    app = App.objects.get(app_id=credentials["appId"])
    assert app.check_api_key(credentials["apiKey"]) and app.check_auth_key(credentials["authKey"])
    stored = json.dumps(list(App.objects.values()), default=str)
    assert credentials["apiKey"] not in stored and credentials["authKey"] not in stored
    assert app.api_key_hash == hash_secret(credentials["apiKey"])


def test_full_flow_user_auth_token_login_call_token(api: Api, app_keys: tuple[App, str, str]) -> None:
    """A server creates a user and an auth token; the user logs in, generates a call token that verifies."""
    _, _, auth_key = app_keys
    status, user = api.server("POST", "/users", "/users", {"uid": "ann-1", "name": "Ann"})
    assert status == 201 and user["data"]["uid"] == "ann-1"
    status, token = api.server("POST", "/users/ann-1/auth_tokens", "/users/{uid}/auth_tokens")
    assert status == 201 and len(token["data"]["authToken"]) > 30
    status, listed = api.server("GET", "/users/ann-1/auth_tokens", "/users/{uid}/auth_tokens")
    assert listed["data"][0]["prefix"] == token["data"]["authToken"][:6]
    assert "authToken" not in listed["data"][0]

    status, me = api.call("GET", "/me", "/me", appid=api.app.app_id, authtoken=token["data"]["authToken"])
    assert status == 200 and me["data"]["name"] == "Ann"
    status, login = api.call("POST", "/login", "/login", {"uid": "ann-1", "authKey": auth_key}, appid=api.app.app_id)
    assert status == 200 and login["data"]["authToken"]

    status, session = api.server("POST", "/sessions", "/sessions", {"title": "Sync", "type": "AUDIO"})
    assert status == 201 and session["data"]["type"] == "VOICE" and session["data"]["allowGuests"] is False
    session_id = session["data"]["sessionId"]
    status, call_token = api.call(
        "POST",
        "/tokens",
        "/tokens",
        {"sessionId": session_id},
        appid=api.app.app_id,
        authtoken=login["data"]["authToken"],
    )
    assert status == 201
    identity = call_tokens.verify(call_token["data"]["token"], session_id)
    assert identity.uid == "ann-1" and identity.name == "Ann" and not identity.is_guest


def test_server_can_mint_call_tokens_for_its_users(api: Api) -> None:
    """With the apikey, a server mints a call token for any of its users (the embedding example's flow)."""
    api.server("POST", "/users", "/users", {"uid": "bob", "name": "Bob"})
    _, session = api.server("POST", "/sessions", "/sessions", {})
    status, token = api.server("POST", "/tokens", "/tokens", {"sessionId": session["data"]["sessionId"], "uid": "bob"})
    assert status == 201 and token["data"]["uid"] == "bob"


def test_lists_are_paginated(api: Api) -> None:
    """Lists come 30 a page by default, 100 at most."""
    AppUser.objects.bulk_create(AppUser(app=api.app, uid=f"u{i:03}", name="U") for i in range(35))
    _, first = api.server("GET", "/users", "/users")
    assert first["meta"]["pagination"] == {"total": 35, "count": 30, "perPage": 30, "currentPage": 1, "totalPages": 2}
    _, second = api.server("GET", "/users?page=2", "/users")
    assert second["meta"]["pagination"]["count"] == 5
    status, refused = api.server("GET", "/users?perPage=101", "/users")
    assert status == 400 and error_code(refused) == errors.ERR_BAD_REQUEST


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, errors.AUTH_ERR_EMPTY_APIKEY),
        ({"apikey": "   "}, 401, errors.AUTH_ERR_EMPTY_APIKEY),
        ({"apikey": "wrong"}, 401, errors.AUTH_ERR_APIKEY_NOT_FOUND),
        ({"apikey": "KEY", "appid": "appnope"}, 401, errors.ERR_APP_NOT_FOUND),
        ({"apikey": "KEY"}, 401, errors.ERR_APP_NOT_FOUND),
    ],
)
def test_missing_or_wrong_api_keys_are_refused(api: Api, headers: dict[str, str], status: int, code: str) -> None:
    """Wrong or missing API keys get AUTH_ERR_* codes with 401, never a 500."""
    headers = {k: (api.api_key if v == "KEY" else v) for k, v in headers.items()}
    if "appid" not in headers and headers.get("apikey") not in (None, "KEY") and code != errors.ERR_APP_NOT_FOUND:
        headers["appid"] = api.app.app_id
    got_status, payload = api.call("GET", "/users", "/users", **headers)
    assert (got_status, error_code(payload)) == (status, code)


def test_api_key_of_another_app_is_refused(api: Api) -> None:
    """App B's key does not open app A."""
    _, other_key, _ = App.create_with_keys("Other")
    status, payload = api.call("GET", "/users", "/users", appid=api.app.app_id, apikey=other_key)
    assert (status, error_code(payload)) == (401, errors.AUTH_ERR_APIKEY_NOT_FOUND)


def test_sessions_of_another_app_are_out_of_reach(api: Api) -> None:
    """An app cannot read, end or mint tokens for another app's session: AUTH_ERR_NO_ACCESS."""
    other, _, _ = App.create_with_keys("Other")
    foreign = CallSession.objects.create(app=other)
    status, payload = api.server("GET", f"/sessions/{foreign.session_id}", "/sessions/{sessionId}")
    assert (status, error_code(payload)) == (403, errors.AUTH_ERR_NO_ACCESS)
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    status, payload = api.server("POST", "/tokens", "/tokens", {"sessionId": foreign.session_id, "uid": "ann"})
    assert (status, error_code(payload)) == (403, errors.AUTH_ERR_NO_ACCESS)


@pytest.mark.parametrize(
    ("uid", "code"),
    [
        ("has space", errors.ERROR_UID_WITH_SPACE),
        ("has\ttab", errors.ERROR_UID_WITH_SPACE),
        ("bad/uid", errors.ERROR_INVALID_UID),
        ("", errors.ERROR_INVALID_UID),
        (7, errors.ERROR_INVALID_UID),
        ("x" * 101, errors.ERROR_INVALID_UID),
    ],
)
def test_bad_uids_are_refused(api: Api, uid: Any, code: str) -> None:
    """uids with spaces get ERROR_UID_WITH_SPACE; other malformed ones ERROR_INVALID_UID."""
    status, payload = api.server("POST", "/users", "/users", {"uid": uid, "name": "X"})
    assert (status, error_code(payload)) == (400, code)


def test_duplicate_and_unknown_users(api: Api) -> None:
    """Creating a uid twice gets ERR_UID_ALREADY_EXISTS; an unknown uid ERR_UID_NOT_FOUND."""
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    status, payload = api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    assert (status, error_code(payload)) == (409, errors.ERR_UID_ALREADY_EXISTS)
    status, payload = api.server("GET", "/users/zed", "/users/{uid}")
    assert (status, error_code(payload)) == (404, errors.ERR_UID_NOT_FOUND)


@pytest.mark.parametrize("body", ["{broken", "[1, 2]"])
def test_bodies_that_are_not_json_objects_are_refused(api: Api, body: str) -> None:
    """Malformed bodies get ERROR_JSON_EXCEPTION."""
    response = api.client.post(
        "/api/v1/users",
        data=body,
        content_type="application/json",
        headers={"appid": api.app.app_id, "apikey": api.api_key},
    )
    assert response.status_code == 400 and error_code(response.json()) == errors.ERROR_JSON_EXCEPTION


def test_login_with_a_wrong_auth_key_is_refused(api: Api) -> None:
    """A wrong auth key gets ERROR_API_KEY_NOT_FOUND."""
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    status, payload = api.call("POST", "/login", "/login", {"uid": "ann", "authKey": "nope"}, appid=api.app.app_id)
    assert (status, error_code(payload)) == (401, errors.ERROR_API_KEY_NOT_FOUND)


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        ("", 401, errors.ERROR_BLANK_AUTHTOKEN),
        ("   ", 401, errors.ERROR_BLANK_AUTHTOKEN),
        ("ab cd", 400, errors.ERROR_AUTHTOKEN_WITH_SPACE),
        ("unknown", 401, errors.ERROR_AUTH_TOKEN),
    ],
)
def test_bad_auth_tokens_are_refused(api: Api, token: str, status: int, code: str) -> None:
    """Blank, spaced or unknown auth tokens get their codes."""
    got_status, payload = api.call("GET", "/me", "/me", appid=api.app.app_id, authtoken=token)
    assert (got_status, error_code(payload)) == (status, code)


def test_revoked_auth_token_no_longer_works(api: Api) -> None:
    """After revocation an auth token gets ERROR_AUTH_TOKEN."""
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    _, token = api.server("POST", "/users/ann/auth_tokens", "/users/{uid}/auth_tokens")
    status, revoked = api.server(
        "DELETE", f"/users/ann/auth_tokens/{token['data']['id']}", "/users/{uid}/auth_tokens/{tokenId}"
    )
    assert status == 200 and revoked["data"]["revokedAt"] is not None
    status, payload = api.call("GET", "/me", "/me", appid=api.app.app_id, authtoken=token["data"]["authToken"])
    assert (status, error_code(payload)) == (401, errors.ERROR_AUTH_TOKEN)


def test_auth_token_of_another_app_is_refused(api: Api) -> None:
    """An auth token is valid only with its own app's appid."""
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    _, token = api.server("POST", "/users/ann/auth_tokens", "/users/{uid}/auth_tokens")
    other, _, _ = App.create_with_keys("Other")
    status, payload = api.call("GET", "/me", "/me", appid=other.app_id, authtoken=token["data"]["authToken"])
    assert (status, error_code(payload)) == (401, errors.ERROR_AUTH_TOKEN)


@pytest.mark.parametrize(
    ("session_id", "status", "code"),
    [
        ("", 400, errors.ERR_EMPTY_CALL_SESSION_ID),
        (None, 400, errors.ERR_EMPTY_CALL_SESSION_ID),
        ("nosuchsession", 404, errors.ERR_CALL_SESSION_NOT_FOUND),
        ("bad id!", 404, errors.ERR_CALL_SESSION_NOT_FOUND),
    ],
)
def test_call_token_for_missing_sessions(api: Api, session_id: Any, status: int, code: str) -> None:
    """generateToken without a session ID, or for an unknown one, gets its code."""
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    got_status, payload = api.server("POST", "/tokens", "/tokens", {"sessionId": session_id, "uid": "ann"})
    assert (got_status, error_code(payload)) == (status, code)


def test_ending_a_session_revokes_its_tokens_and_refuses_new_ones(api: Api) -> None:
    """After end, the session's tokens are refused and new ones get ERR_CALL_TERMINATED."""
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    _, session = api.server("POST", "/sessions", "/sessions", {})
    session_id = session["data"]["sessionId"]
    _, token = api.server("POST", "/tokens", "/tokens", {"sessionId": session_id, "uid": "ann"})
    status, ended = api.server("POST", f"/sessions/{session_id}/end", "/sessions/{sessionId}/end")
    assert status == 200 and ended["data"]["status"] == SessionStatus.ENDED
    with pytest.raises(CallTokenError, match="revoked"):
        call_tokens.verify(token["data"]["token"], session_id)
    status, payload = api.server("POST", "/tokens", "/tokens", {"sessionId": session_id, "uid": "ann"})
    assert (status, error_code(payload)) == (409, errors.ERR_CALL_TERMINATED)
    status, payload = api.server("POST", f"/sessions/{session_id}/end", "/sessions/{sessionId}/end")
    assert (status, error_code(payload)) == (409, errors.ERR_CALL_TERMINATED)


def test_guests_get_tokens_only_where_allowed(api: Api) -> None:
    """Share-link sessions allow guests; app sessions without guests say ERR_GUESTS_NOT_ALLOWED."""
    open_session = CallSession.objects.create()
    status, token = api.call(
        "POST",
        f"/sessions/{open_session.session_id}/guest_token",
        "/sessions/{sessionId}/guest_token",
        {"displayName": "<b>Zoe</b>"},
    )
    assert status == 201 and token["data"]["uid"].startswith("guest_")
    identity = call_tokens.verify(token["data"]["token"], open_session.session_id)
    assert identity.is_guest and identity.name == "<b>Zoe</b>"
    _, closed = api.server("POST", "/sessions", "/sessions", {"allowGuests": False})
    closed_id = closed["data"]["sessionId"]
    status, payload = api.call(
        "POST", f"/sessions/{closed_id}/guest_token", "/sessions/{sessionId}/guest_token", {"displayName": "Eve"}
    )
    assert (status, error_code(payload)) == (403, errors.ERR_GUESTS_NOT_ALLOWED)


def test_token_creation_is_rate_limited(api: Api, settings: Any) -> None:
    """Past the configured rate, token endpoints answer 429 ERR_TOO_MANY_REQUESTS."""
    settings.CALLS_TOKEN_RATE = "3/m"
    session = CallSession.objects.create()
    path, template = f"/sessions/{session.session_id}/guest_token", "/sessions/{sessionId}/guest_token"
    statuses = [api.call("POST", path, template, {})[0] for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert error_code(api.call("POST", path, template, {})[1]) == errors.ERR_TOO_MANY_REQUESTS


def test_login_is_rate_limited(api: Api, settings: Any, app_keys: tuple[App, str, str]) -> None:
    """Past CALLS_LOGIN_RATE, logins answer 429 even with the right auth key (auth keys cannot be guessed fast)."""
    settings.CALLS_LOGIN_RATE = "2/m"
    auth_key = app_keys[2]
    AppUser.objects.create(app=api.app, uid="ann", name="Ann")
    attempts = [{"uid": "ann", "authKey": "wrong"}, *[{"uid": "ann", "authKey": auth_key}] * 2]
    statuses = [api.call("POST", "/login", "/login", body, appid=api.app.app_id)[0] for body in attempts]
    assert statuses == [401, 200, 429]


def test_unsupported_method_is_a_documented_error(api: Api) -> None:
    response = api.client.put("/api/v1/login")
    assert response.status_code == 405 and error_code(response.json()) == errors.ERR_BAD_REQUEST


# Call tokens: bound to one session and one identity, expiring, revocable, tamper-proof.


@pytest.fixture
def session_and_user(app_keys: tuple[App, str, str]) -> tuple[CallSession, AppUser]:
    app = app_keys[0]
    return CallSession.objects.create(app=app), AppUser.objects.create(app=app, uid="ann", name="Ann")


def test_call_token_for_session_a_never_joins_session_b(session_and_user: tuple[CallSession, AppUser]) -> None:
    session, user = session_and_user
    token, _ = call_tokens.issue(session, user, "Ann")
    other = CallSession.objects.create(app=session.app)
    with pytest.raises(CallTokenError, match="another session"):
        call_tokens.verify(token, other.session_id)


def test_expired_call_token_is_refused(session_and_user: tuple[CallSession, AppUser], settings: Any) -> None:
    """A token is refused once its lifetime (CALLS_CALL_TOKEN_TTL_SECONDS) is over."""
    settings.CALLS_CALL_TOKEN_TTL_SECONDS = 60
    session, user = session_and_user
    issued_at = timezone.now() - timedelta(seconds=61)
    token, _ = CallTokenGenerator(now=lambda: issued_at).issue(session, user, "Ann")
    with pytest.raises(CallTokenError, match="expired"):
        call_tokens.verify(token, session.session_id)
    assert CallTokenGenerator(now=lambda: issued_at + timedelta(seconds=30)).verify(token, session.session_id)


def test_revoked_call_token_is_refused(session_and_user: tuple[CallSession, AppUser]) -> None:
    session, user = session_and_user
    token, record = call_tokens.issue(session, user, "Ann")
    CallToken.objects.filter(pk=record.pk).update(revoked_at=timezone.now())
    with pytest.raises(CallTokenError, match="revoked"):
        call_tokens.verify(token, session.session_id)


@pytest.mark.parametrize("part", [0, 1, 2])
def test_tampered_call_token_is_refused(session_and_user: tuple[CallSession, AppUser], part: int) -> None:
    """Changing any part of the token (header, claims, signature) makes it invalid."""
    session, user = session_and_user
    token, _ = call_tokens.issue(session, user, "Ann")
    pieces = token.split(".")
    pieces[part] = pieces[part][:-2] + ("AA" if not pieces[part].endswith("AA") else "BB")
    with pytest.raises(CallTokenError):
        call_tokens.verify(".".join(pieces), session.session_id)


def test_call_token_cannot_be_rebound_to_another_user(session_and_user: tuple[CallSession, AppUser]) -> None:
    """A token of user A re-signed claims for user B is refused: the identity is the record's."""
    import jwt

    session, user = session_and_user
    token, _ = call_tokens.issue(session, user, "Ann")
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "mallory"}, "a-guessed-signing-key-of-32-bytes!!", algorithm="HS256")
    with pytest.raises(CallTokenError):
        call_tokens.verify(forged, session.session_id)


def test_secrets_never_reach_the_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    """Refused requests log no API key or token."""
    caplog.set_level(logging.DEBUG)
    api.call("GET", "/users", "/users", appid=api.app.app_id, apikey="sekrit-key-value")
    api.call("GET", "/me", "/me", appid=api.app.app_id, authtoken="sekrit-token-value")
    assert "sekrit" not in caplog.text and api.api_key not in caplog.text


def test_api_answers_cors_preflight_for_embedding_sites(client: Client) -> None:
    """The SDK on another origin may call the API: preflights succeed and name our headers."""
    response = client.options(
        "/api/v1/tokens",
        headers={"origin": "https://acme.example", "access-control-request-method": "POST"},
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "authtoken" in response["Access-Control-Allow-Headers"]


def test_the_participant_list_partial_answers_cors_too(client: Client) -> None:
    """The SDK embedded on another origin loads the server-rendered participant list with its call token."""
    session = CallSession.objects.create()
    path = f"/s/{session.session_id}/participants/"
    preflight = client.options(path, headers={"origin": "https://acme.example", "access-control-request-method": "GET"})
    assert preflight.status_code == 204 and "x-call-token" in preflight["Access-Control-Allow-Headers"]
    refused = client.get(path, headers={"origin": "https://acme.example"})
    assert refused.status_code == 403 and refused["Access-Control-Allow-Origin"] == "*"
    page = client.get(f"/s/{session.session_id}/", headers={"origin": "https://acme.example"})
    assert "Access-Control-Allow-Origin" not in page


def test_cors_can_be_narrowed_to_listed_origins(client: Client, settings: Any) -> None:
    settings.CALLS_CORS_ALLOWED_ORIGINS = ["https://acme.example"]
    allowed = client.get("/api/v1/openapi.json", headers={"origin": "https://acme.example"})
    refused = client.get("/api/v1/openapi.json", headers={"origin": "https://evil.example"})
    assert allowed["Access-Control-Allow-Origin"] == "https://acme.example"
    assert "Access-Control-Allow-Origin" not in refused


def test_call_logs_follow_the_schema(api: Api) -> None:
    """GET /calls and /calls/{sessionId} answer as the OpenAPI schema says."""
    session = CallSession.objects.create(app=api.app, started_at=timezone.now(), status=SessionStatus.ONGOING)
    status, listed = api.server("GET", "/calls", "/calls")
    assert status == 200 and listed["data"][0]["sessionId"] == session.session_id
    status, detail = api.server("GET", f"/calls/{session.session_id}", "/calls/{sessionId}")
    assert status == 200 and detail["data"]["participants"] == []
    status, missing = api.server("GET", "/calls/nosuchcall", "/calls/{sessionId}")
    assert (status, error_code(missing)) == (404, errors.ERR_CALL_SESSION_NOT_FOUND)


def test_a_user_s_call_logs_follow_the_schema(api: Api) -> None:
    """With a user's auth token, GET /calls (with participants) and /calls/{sessionId} answer as the schema says."""
    user = AppUser.objects.create(app=api.app, uid="ann", name="Ann")
    secret = AuthToken.issue(user)[1]
    session = CallSession.objects.create(app=api.app, started_at=timezone.now(), status=SessionStatus.ONGOING)
    Participant.objects.create(session=session, uid="ann", is_guest=False, display_name="Ann")
    other = CallSession.objects.create(app=api.app, started_at=timezone.now(), status=SessionStatus.ONGOING)
    user_headers = {"appid": api.app.app_id, "authtoken": secret}
    status, listed = api.call("GET", "/calls?withParticipants=true", "/calls", **user_headers)
    assert status == 200 and [log["sessionId"] for log in listed["data"]] == [session.session_id]
    assert listed["data"][0]["participants"][0]["uid"] == "ann"
    status, detail = api.call("GET", f"/calls/{session.session_id}", "/calls/{sessionId}", **user_headers)
    assert status == 200 and detail["data"]["initiator"] == "ann"
    status, refused = api.call("GET", f"/calls/{other.session_id}", "/calls/{sessionId}", **user_headers)
    assert (status, error_code(refused)) == (403, errors.AUTH_ERR_NO_ACCESS)


def test_logout_revokes_the_callers_auth_token(api: Api) -> None:
    """POST /logout with an auth token revokes exactly that token."""
    api.server("POST", "/users", "/users", {"uid": "ann", "name": "Ann"})
    _, first = api.server("POST", "/users/ann/auth_tokens", "/users/{uid}/auth_tokens")
    _, second = api.server("POST", "/users/ann/auth_tokens", "/users/{uid}/auth_tokens")
    secret = first["data"]["authToken"]
    status, body = api.call("POST", "/logout", "/logout", appid=api.app.app_id, authtoken=secret)
    assert status == 200 and body["data"]["revokedAt"] is not None
    status, refused = api.call("GET", "/me", "/me", appid=api.app.app_id, authtoken=secret)
    assert (status, error_code(refused)) == (401, errors.ERROR_AUTH_TOKEN)
    status, _ = api.call("GET", "/me", "/me", appid=api.app.app_id, authtoken=second["data"]["authToken"])
    assert status == 200


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/api/v1/users/a%0Ab/auth_tokens/true", "/api/v1/x/%0A/y"])
def test_unknown_api_paths_answer_json_not_found(client: Client, path: str) -> None:
    """Any path under /api/v1/ that names nothing (newlines included) is a JSON ERR_NOT_FOUND, not an HTML page."""
    response = client.delete(path)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "ERR_NOT_FOUND"


def test_nul_characters_are_a_bad_request_not_a_database_error(api: Api) -> None:
    """PostgreSQL refuses NUL in text: a NUL in the query, the path or the body is a 400, on every database."""
    status, body = api.server("GET", "/calls?uid=a%00b", "/calls")
    assert status == 400 and body["error"]["code"] == "ERR_BAD_REQUEST"
    status, body = api.server("POST", "/users", "/users", {"uid": "nul", "name": "A\u0000B"})
    assert status == 400 and body["error"]["code"] == "ERR_BAD_REQUEST"
    status, body = api.server("GET", "/users/a%00b", "/users/{uid}")
    assert status == 400 and body["error"]["code"] == "ERR_BAD_REQUEST"
