"""
The SDK's setup and auth (calls-api §2, §3, §7) against the real server: init, login, call tokens, every
error code in its situation, the members-only share page, and a third-party site embedding calls.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .call_page import (
    CONTAINER,
    ROOT,
    call,
    expect_state,
    load_sdk,
    local_participant_id,
    sdk,
    tile,
    wait_for_remote_media,
)
from .conftest import PROJECT_ROOT, free_port, stop_process
from .rest import AppServer, rest

pytestmark = pytest.mark.browser

EMBED_EXAMPLE = PROJECT_ROOT / "docs" / "embed_example" / "server.py"
EMBED_START_TIMEOUT_S = 15
LOGIN_ERROR = f"{CONTAINER} .cc-login__error"

# A helper for the scripts below: the error code a public method resolved (null on success).
CODE = """
const code = async (promise) => {
  try {
    const r = await promise;
    return r && r.error ? r.error.errorCode : null;  // joinSession resolves {data, error}
  } catch (error) {
    return error.errorCode;
  }
};
"""


@pytest.fixture
def sdk_page(open_page: Callable[..., Page], live_server_url: str) -> Page:
    """The site's home page with the SDK imported (not initialised), as an app would load it."""
    return load_sdk(open_page(live_server_url + "/"))


def init(page: Page, app: AppServer) -> None:
    result = sdk(
        page,
        "return calls.init({appId: arg.appId, region: 'us', host: arg.host});",
        {"appId": app.app_id, "host": app.base_url},
    )
    assert result == {"success": True, "error": None}


def login(page: Page, app: AppServer, uid: str) -> dict[str, str]:
    return sdk(page, "return calls.login(arg.uid, arg.authKey);", {"uid": uid, "authKey": app.auth_key})


def with_claim(token: str, **claims: str) -> str:
    """``token`` with its payload claims changed and its signature kept (so it no longer verifies)."""
    header, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = base64.urlsafe_b64encode(json.dumps({**decoded, **claims}).encode()).rstrip(b"=").decode()
    return f"{header}.{changed}.{signature}"


# init() and the not-initialised SDK.


def test_init_resolves_success_or_an_error_naming_the_field_and_never_throws(
    sdk_page: Page, live_server_url: str
) -> None:
    results = sdk(
        sdk_page,
        """
        const attempt = async (settings) => {
          try {
            const r = await calls.init(settings);
            return r.success ? "ok" : `${r.error.errorCode}:${r.error.details.field}`;
          } catch (error) {
            return `threw ${error}`;
          }
        };
        return {
          missing: await attempt(undefined),
          notObject: await attempt("app"),
          noAppId: await attempt({region: "us"}),
          blankAppId: await attempt({appId: "  "}),
          numberAppId: await attempt({appId: 42}),
          badRegion: await attempt({appId: "app1", region: 5}),
          relativeHost: await attempt({appId: "app1", host: "calls.example.com"}),
          ftpHost: await attempt({appId: "app1", host: "ftp://calls.example.com"}),
          badFlag: await attempt({appId: "app1", allowGuests: "yes"}),
          stillUninitialised: calls.isInitialized(),
          good: await attempt({appId: "app1", region: "us", host: arg}),
          initialised: calls.isInitialized(),
          failedAgain: await attempt({appId: ""}),
          keptConfig: calls.isInitialized(),
        };
        """,
        live_server_url + "/",
    )
    init_error = "ERROR_COMETCHAT_CALLS_SDK_INIT"
    assert results == {
        "missing": f"{init_error}:appSettings",
        "notObject": f"{init_error}:appSettings",
        "noAppId": f"{init_error}:appId",
        "blankAppId": f"{init_error}:appId",
        "numberAppId": f"{init_error}:appId",
        "badRegion": f"{init_error}:region",
        "relativeHost": f"{init_error}:host",
        "ftpHost": f"{init_error}:host",
        "badFlag": f"{init_error}:allowGuests",
        "stillUninitialised": False,
        "good": "ok",
        "initialised": True,
        "failedAgain": f"{init_error}:appId",
        "keptConfig": True,
    }


def test_error_cometchat_calls_sdk_init_before_init(sdk_page: Page, app_server: AppServer) -> None:
    """Joining (by ID or token), generating a token, logging in or out: all need init() first."""
    session_id = app_server.create_session()["sessionId"]
    app_server.create_user("ann", "Ann Lee")
    token = app_server.call_token("ann", session_id)
    results = sdk(
        sdk_page,
        CODE
        + """
        return {
          initialised: calls.isInitialized(),
          joinById: await code(calls.joinSession(arg.sessionId, {}, container)),
          joinByToken: await code(calls.joinSession(arg.token, {}, container)),
          generateToken: await code(calls.generateToken(arg.sessionId)),
          login: await code(calls.login("ann", "some-key")),
          loginWithAuthToken: await code(calls.loginWithAuthToken("some-token")),
          logout: await code(calls.logout()),
          loggedIn: [calls.isUserLoggedIn(), calls.getLoggedInUser(), calls.getUserAuthToken()],
          rendered: container.childElementCount,
        };
        """,
        {"sessionId": session_id, "token": token},
    )
    code = "ERROR_COMETCHAT_CALLS_SDK_INIT"
    assert results == {
        "initialised": False,
        "joinById": code,
        "joinByToken": code,
        "generateToken": code,
        "login": code,
        "loginWithAuthToken": code,
        "logout": code,
        "loggedIn": [False, None, None],
        "rendered": 0,
    }


# Login errors.


def test_error_no_user_logged_in(sdk_page: Page, app_server: AppServer) -> None:
    """generateToken (and logout) with nobody logged in."""
    session_id = app_server.create_session()["sessionId"]
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        CODE + "return [await code(calls.generateToken(arg)), await code(calls.logout())];",
        session_id,
    )
    assert results == ["ERROR_NO_USER_LOGGED_IN", "ERROR_NO_USER_LOGGED_IN"]


def test_error_blank_authtoken(sdk_page: Page, app_server: AppServer) -> None:
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        CODE
        + """
        const blanks = ["", "   ", "\\t\\n", null, undefined, 42];
        return Promise.all(blanks.map((token) => code(calls.loginWithAuthToken(token))));
        """,
    )
    assert results == ["ERROR_BLANK_AUTHTOKEN"] * 6


def test_error_authtoken_with_space(sdk_page: Page, app_server: AppServer) -> None:
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        CODE
        + """
        return Promise.all(["abc def", " abc\\tdef "].map((token) => code(calls.loginWithAuthToken(token))));
        """,
    )
    assert results == ["ERROR_AUTHTOKEN_WITH_SPACE", "ERROR_AUTHTOKEN_WITH_SPACE"]


def test_error_uid_with_space(sdk_page: Page, app_server: AppServer) -> None:
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        CODE + "return [await code(calls.login('ann lee', arg)), await code(calls.login(' ann\\tlee ', arg))];",
        app_server.auth_key,
    )
    assert results == ["ERROR_UID_WITH_SPACE", "ERROR_UID_WITH_SPACE"]


def test_error_invalid_uid(sdk_page: Page, app_server: AppServer) -> None:
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        CODE
        + """
        const uids = ["", "  ", null, 7, "ann/lee", "anné", "a".repeat(101)];
        return Promise.all(uids.map((uid) => code(calls.login(uid, arg))));
        """,
        app_server.auth_key,
    )
    assert results == ["ERROR_INVALID_UID"] * 7


def test_error_api_key_not_found(sdk_page: Page, app_server: AppServer) -> None:
    """A wrong auth key is refused by the server; an empty one before any request."""
    app_server.create_user("ann", "Ann Lee")
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        """
        const failures = [];
        calls.addLoginListener("test", {onLoginFailure: (error) => failures.push(error.errorCode)});
        const wrong = await calls.login("ann", "not-the-auth-key").catch((error) => error);
        const empty = await calls.login("ann", " ").catch((error) => error.errorCode);
        return {wrong, empty, failures, loggedIn: calls.isUserLoggedIn()};
        """,
    )
    assert results["wrong"]["errorCode"] == "ERROR_API_KEY_NOT_FOUND"
    assert results["wrong"]["errorDescription"] == "The auth key is not valid for this app."
    assert results["wrong"]["name"] == "COMET_CHAT_API_ERROR"
    assert results["empty"] == "ERROR_API_KEY_NOT_FOUND"
    assert results["failures"] == ["ERROR_API_KEY_NOT_FOUND", "ERROR_API_KEY_NOT_FOUND"]
    assert results["loggedIn"] is False


def test_error_login_in_progress(sdk_page: Page, app_server: AppServer) -> None:
    """A second login (of either kind) while one is in flight is refused; the first one completes."""
    app_server.create_user("ann", "Ann Lee")
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        CODE
        + """
        const first = calls.login("ann", arg);
        const second = await code(calls.login("ann", arg));
        const third = await code(calls.loginWithAuthToken("another-token"));
        const logout = await code(calls.logout());
        const done = await first;
        return {second, third, logout, first: done.uid, after: await code(calls.login("ann", arg))};
        """,
        app_server.auth_key,
    )
    assert results == {
        "second": "ERROR_LOGIN_IN_PROGRESS",
        "third": "ERROR_LOGIN_IN_PROGRESS",
        "logout": "ERROR_LOGIN_IN_PROGRESS",
        "first": "ann",
        "after": None,
    }


def test_error_auth_token_for_unknown_and_revoked_auth_tokens(sdk_page: Page, app_server: AppServer) -> None:
    """The server refuses an auth token it never issued, and one revoked after the login."""
    session_id = app_server.create_session()["sessionId"]
    app_server.create_user("ann", "Ann Lee")
    issued = app_server.auth_token("ann")
    init(sdk_page, app_server)
    unknown = call(sdk_page, "loginWithAuthToken('no-such-token-0123456789')")
    assert unknown["error"]["errorCode"] == "ERROR_AUTH_TOKEN"
    assert sdk(sdk_page, "return calls.loginWithAuthToken(arg);", issued["authToken"])["uid"] == "ann"

    app_server.revoke_auth_token("ann", issued["id"])
    results = sdk(
        sdk_page,
        CODE
        + """
        return {
          generate: await code(calls.generateToken(arg.sessionId)),
          join: await code(calls.joinSession(arg.sessionId, {}, container)),
          relogin: await code(calls.loginWithAuthToken(arg.authToken)),
        };
        """,
        {"sessionId": session_id, "authToken": issued["authToken"]},
    )
    assert results == {"generate": "ERROR_AUTH_TOKEN", "join": "ERROR_AUTH_TOKEN", "relogin": "ERROR_AUTH_TOKEN"}
    expect_state(sdk_page, "error")
    expect(sdk_page.locator(ROOT)).to_contain_text("Your login was refused")
    expect(sdk_page.locator(f"{ROOT} .cc-screen__code")).to_have_text("ERROR_AUTH_TOKEN")


# Join errors.


def test_error_auth_token_joining_by_session_id_without_a_login(sdk_page: Page, app_server: AppServer) -> None:
    """An app's SDK (not guest-capable) joins by session ID only for a logged-in user; nothing is rendered."""
    session_id = app_server.create_session(allow_guests=True)["sessionId"]
    init(sdk_page, app_server)
    result = sdk(
        sdk_page,
        "const r = await calls.joinSession(arg, {}, container); return [r.error, container.childElementCount];",
        session_id,
    )
    assert result[0]["errorCode"] == "ERROR_AUTH_TOKEN"
    assert "login()" in result[0]["errorDescription"]
    assert result[1] == 0


def test_error_call_session_id(sdk_page: Page, app_server: AppServer) -> None:
    app_server.create_user("ann", "Ann Lee")
    init(sdk_page, app_server)
    login(sdk_page, app_server, "ann")
    results = sdk(
        sdk_page,
        CODE
        + """
        return Promise.all([
          code(calls.joinSession("", {}, container)),
          code(calls.joinSession("   ", {}, container)),
          code(calls.joinSession(null, {}, container)),
          code(calls.joinSession("a/b", {}, container)),
          code(calls.generateToken("")),
          code(calls.generateToken(undefined)),
          code(calls.generateToken("has space")),
        ]);
        """,
    )
    assert results == ["ERROR_CALL_SESSION_ID"] * 7


def test_error_calling_view_ref_null(sdk_page: Page, app_server: AppServer) -> None:
    session_id = app_server.create_session()["sessionId"]
    app_server.create_user("ann", "Ann Lee")
    init(sdk_page, app_server)
    login(sdk_page, app_server, "ann")
    results = sdk(
        sdk_page,
        CODE
        + """
        return Promise.all([null, undefined, "no-such-element", {}, document.createTextNode("x")]
          .map((where) => code(calls.joinSession(arg, {}, where))));
        """,
        session_id,
    )
    assert results == ["ERROR_CALLING_VIEW_REF_NULL"] * 5


def test_error_json_exception(sdk_page: Page, app_server: AppServer) -> None:
    """Settings that are not valid are refused before the login is even looked at."""
    session_id = app_server.create_session()["sessionId"]
    init(sdk_page, app_server)
    results = sdk(
        sdk_page,
        """
        const error = async (settings) => (await calls.joinSession(arg, settings, container)).error;
        const invalid = ["VIDEO", [], {startAudioMuted: "yes"}, {sessionType: "HOLOGRAM"}, {layout: 3}];
        const errors = await Promise.all(invalid.map(error));
        return errors.map((e) => [e.errorCode, e.details.field || null]);
        """,
        session_id,
    )
    assert results == [
        ["ERROR_JSON_EXCEPTION", None],
        ["ERROR_JSON_EXCEPTION", None],
        ["ERROR_JSON_EXCEPTION", "startAudioMuted"],
        ["ERROR_JSON_EXCEPTION", "sessionType"],
        ["ERROR_JSON_EXCEPTION", "layout"],
    ]


def test_error_call_token_for_tokens_that_are_malformed_or_claim_another_session(
    sdk_page: Page, app_server: AppServer
) -> None:
    """
    Malformed tokens are refused by the SDK; a real token re-labelled for another session (its signature
    no longer matches) is refused by the server in reply to `join`, and joinSession resolves its code.
    """
    first = app_server.create_session()["sessionId"]
    second = app_server.create_session()["sessionId"]
    app_server.create_user("ann", "Ann Lee")
    init(sdk_page, app_server)
    client_side = sdk(
        sdk_page,
        CODE
        + """
        return Promise.all([
          code(calls.joinSession("aaaa.bbbb.cccc", {}, container)),
          code(calls.joinSession({token: "not a token"}, {}, container)),
          code(calls.joinSession({}, {}, container)),
        ]);
        """,
    )
    assert client_side == ["ERROR_CALL_TOKEN"] * 3

    relabelled = with_claim(app_server.call_token("ann", first), sid=second)
    result = sdk(sdk_page, "return calls.joinSession(arg, {}, container);", relabelled)
    assert result["error"]["errorCode"] == "ERROR_CALL_TOKEN"
    assert result["error"]["errorDescription"] == "The call token is invalid."
    expect_state(sdk_page, "error")
    expect(sdk_page.locator(f"{ROOT} .cc-screen__code")).to_have_text("ERROR_CALL_TOKEN")


def test_error_call_token_for_an_expired_token(
    sdk_page: Page, app_server: AppServer, manage: Callable[..., str]
) -> None:
    """A genuine token, issued (by the server's own generator, on a clock set back) so that it has expired."""
    session_id = app_server.create_session()["sessionId"]
    app_server.create_user("ann", "Ann Lee")
    output = manage(
        "shell",
        "-c",
        "from datetime import timedelta; from django.utils import timezone; "
        "from sessions_app.models import AppUser, CallSession; "
        "from sessions_app.tokens import CallTokenGenerator, call_tokens; "
        f"session = CallSession.objects.get(session_id={session_id!r}); "
        f"user = AppUser.objects.get(app__app_id={app_server.app_id!r}, uid='ann'); "
        "issued_at = timezone.now() - timedelta(seconds=call_tokens.ttl_seconds + 60); "
        "print(CallTokenGenerator(now=lambda: issued_at).issue(session, user, user.name)[0])",
    )
    expired = output.strip().splitlines()[-1]
    init(sdk_page, app_server)
    result = sdk(sdk_page, "return calls.joinSession(arg, {}, container);", expired)
    error = result["error"]
    assert (error["errorCode"], error["errorDescription"], error["details"]) == (
        "ERROR_CALL_TOKEN",
        "The call token has expired.",
        {},
    )
    assert error["name"] == "COMET_CHAT_API_ERROR"
    expect_state(sdk_page, "error")


def test_tokens_of_an_ended_call_are_refused_with_err_call_terminated(sdk_page: Page, app_server: AppServer) -> None:
    """Ending a call revokes its tokens; the server names the reason (the call is over), not the token."""
    session_id = app_server.create_session()["sessionId"]
    app_server.create_user("ann", "Ann Lee")
    init(sdk_page, app_server)
    login(sdk_page, app_server, "ann")
    token = sdk(sdk_page, "return (await calls.generateToken(arg)).token;", session_id)
    app_server.call("POST", f"/sessions/{session_id}/end")
    results = sdk(
        sdk_page,
        CODE
        + """
        const generate = await code(calls.generateToken(arg.sessionId));
        return [generate, await code(calls.joinSession(arg.token, {}, container))];
        """,
        {"sessionId": session_id, "token": token},
    )
    assert results == ["ERR_CALL_TERMINATED", "ERR_CALL_TERMINATED"]
    expect_state(sdk_page, "ended")


# The flows of the seed: login → generateToken → joinSession(token), and joinSession(sessionId).


def test_login_generate_token_and_join_with_it_is_seen_by_another_participant(
    open_page: Callable[..., Page], app_server: AppServer, live_server_url: str
) -> None:
    session_id = app_server.create_session("Standup")["sessionId"]
    app_server.create_user("ann", "Ann Lee")
    app_server.create_user("bob", "Bob")
    ann = load_sdk(open_page(live_server_url + "/"))
    init(ann, app_server)
    user = login(ann, app_server, "ann")
    auth_token = user.pop("authToken")
    assert user == {"uid": "ann", "name": "Ann Lee", "avatar": "", "status": "available"} and len(auth_token) > 20
    state = sdk(ann, "return [calls.isUserLoggedIn(), calls.getLoggedInUser(), calls.getUserAuthToken()];")
    assert state[0] is True and state[1] == {**user, "authToken": auth_token} and state[2] == auth_token

    generated = call(ann, "generateToken(arg)", session_id)
    assert generated["error"] is None
    assert generated["data"]["sessionId"] == session_id and generated["data"]["uid"] == "ann"
    assert generated["data"]["expiresAt"] > time.time()
    # The seed passes generateToken's result itself to joinSession.
    joined = sdk(ann, "return calls.joinSession(arg, {}, container);", generated["data"])
    assert joined["error"] is None and joined["data"]["sessionId"] == session_id

    bob = load_sdk(open_page(live_server_url + "/"))
    init(bob, app_server)
    login(bob, app_server, "bob")
    bob_token = sdk(bob, "return (await calls.generateToken(arg)).token;", session_id)
    assert sdk(bob, "return (await calls.joinSession(arg, {}, container)).error;", bob_token) is None
    expect(tile(bob, joined["data"]["participantId"]).locator(".cc-tile__name")).to_have_text("Ann Lee")
    wait_for_remote_media(bob, count=1)
    wait_for_remote_media(ann, count=1)


def test_joining_by_session_id_after_login_shows_the_users_name_to_the_others(
    open_page: Callable[..., Page], app_server: AppServer, live_server_url: str
) -> None:
    """The quick start: the SDK generates the logged-in user's token; the others see the user's name."""
    session_id = app_server.create_session()["sessionId"]
    app_server.create_user("cho", "Cho Park")
    app_server.create_user("dev", "Dev Patel")
    pages = {}
    for uid in ("cho", "dev"):
        page = load_sdk(open_page(live_server_url + "/"))
        init(page, app_server)
        result = call(page, "loginWithAuthToken(arg)", app_server.auth_token(uid)["authToken"])
        assert result["error"] is None and result["data"]["uid"] == uid
        joined = sdk(page, "return calls.joinSession(arg, {}, container);", session_id)
        assert joined["error"] is None, joined
        pages[uid] = page
    expect_state(pages["cho"], "joined")
    cho_id = local_participant_id(pages["cho"])
    expect(tile(pages["dev"], cho_id).locator(".cc-tile__name")).to_have_text("Cho Park")
    expect(tile(pages["cho"], local_participant_id(pages["dev"])).locator(".cc-tile__name")).to_have_text("Dev Patel")
    wait_for_remote_media(pages["dev"], count=1)


def test_login_survives_a_reload_per_app_and_logout_forgets_it(
    sdk_page: Page, app_server: AppServer, manage: Callable[..., str]
) -> None:
    """The login is kept in localStorage under the app's ID; listeners hear logins and logouts."""
    app_server.create_user("ann", "Ann Lee")
    init(sdk_page, app_server)
    events = sdk(
        sdk_page,
        """
        const events = [];
        calls.addLoginListener("a", {
          onLoginSuccess: (user) => events.push(`login ${user.uid}`),
          onLoginFailure: (error) => events.push(`failure ${error.errorCode}`),
          onLogoutSuccess: () => events.push("logout"),
          onLogoutFailure: (error) => events.push(`logout failure ${error.errorCode}`),
        });
        calls.addLoginListener("removed", {onLoginSuccess: () => events.push("removed listener called")});
        calls.removeLoginListener("removed");
        calls.addLoginListener("throws", {onLoginSuccess: () => { throw new Error("listener bug"); }});
        await calls.login("ann", "wrong").catch(() => {});
        await calls.login("ann", arg);
        return events;
        """,
        app_server.auth_key,
    )
    assert events == ["failure ERROR_API_KEY_NOT_FOUND", "login ann"]
    token = sdk(sdk_page, "return calls.getUserAuthToken();")
    stored = sdk(sdk_page, "return JSON.parse(localStorage.getItem(`calls.auth.${arg}`));", app_server.app_id)
    assert stored == {
        "user": {"uid": "ann", "name": "Ann Lee", "avatar": "", "status": "available"},
        "authToken": token,
        "minted": True,
    }

    sdk_page.reload()
    load_sdk(sdk_page)
    assert sdk(sdk_page, "return calls.isUserLoggedIn();") is False  # Nothing is known before init.
    init(sdk_page, app_server)
    assert sdk(sdk_page, "return [calls.getLoggedInUser().name, calls.getUserAuthToken()];") == ["Ann Lee", token]

    other_app = json.loads(manage("create_app", "--name", "Other").strip().splitlines()[-1])
    assert sdk(sdk_page, "await calls.init({appId: arg}); return calls.isUserLoggedIn();", other_app["appId"]) is False
    init(sdk_page, app_server)
    result = sdk(
        sdk_page,
        """
        const events = [];
        calls.addLoginListener("b", {onLogoutSuccess: () => events.push("logout")});
        const r = await calls.logout();
        return {r, events, loggedIn: calls.isUserLoggedIn(), stored: localStorage.getItem(`calls.auth.${arg}`)};
        """,
        app_server.app_id,
    )
    assert result == {"r": "Logged out successfully.", "events": ["logout"], "loggedIn": False, "stored": None}
    # The development login minted that auth token, so logging out revoked it on the server.
    status, refused = rest(app_server.base_url, "GET", "/me", None, appid=app_server.app_id, authtoken=token)
    assert (status, refused["error"]["code"]) == (401, "ERROR_AUTH_TOKEN")
    sdk_page.reload()
    load_sdk(sdk_page)
    init(sdk_page, app_server)
    assert sdk(sdk_page, "return calls.getLoggedInUser();") is None


# The members-only share page.


def sign_in(page: Page, *, auth_token: str | None = None, uid: str | None = None, auth_key: str | None = None) -> None:
    if auth_token is not None:
        page.check("#cc-login-method-token")
        page.fill("#cc-login-auth-token", auth_token)
    else:
        page.check("#cc-login-method-key")
        page.fill("#cc-login-uid", uid or "")
        page.fill("#cc-login-auth-key", auth_key or "")
    page.click("#cc-login")


def expect_login_error(page: Page, code: str) -> None:
    expect(page.locator(LOGIN_ERROR)).to_have_attribute("data-error-code", code)
    expect(page.locator(LOGIN_ERROR)).to_contain_text(f"({code})")


def test_members_only_page_signs_in_and_joins_with_a_generated_token(
    open_page: Callable[..., Page], app_server: AppServer
) -> None:
    """An auth token (production) or a uid with the auth key (development); errors show their codes."""
    session = app_server.create_session("Board meeting")
    app_server.create_user("ann", "Ann Lee")
    app_server.create_user("bob", "Bob")

    ann = open_page(session["shareUrl"])
    expect_state(ann, "login")
    expect(ann.locator(ROOT)).to_contain_text("This call needs a login")
    expect(ann.locator("#cc-join")).to_have_count(0)
    expect(ann.locator("#cc-login-uid")).to_be_hidden()
    sign_in(ann, auth_token="   ")
    expect_login_error(ann, "ERROR_BLANK_AUTHTOKEN")
    expect(ann.locator("#cc-login-auth-token")).to_have_attribute("aria-invalid", "true")
    sign_in(ann, auth_token="two words")
    expect_login_error(ann, "ERROR_AUTHTOKEN_WITH_SPACE")
    sign_in(ann, auth_token="not-a-token-we-issued")
    expect_login_error(ann, "ERROR_AUTH_TOKEN")
    sign_in(ann, auth_token=app_server.auth_token("ann")["authToken"])
    expect_state(ann, "prejoin")
    expect(ann.locator(f"{ROOT} .cc-prejoin__account")).to_contain_text("Signed in as Ann Lee (ann)")
    expect(ann.locator("#cc-display-name")).to_have_value("Ann Lee")
    ann.click("#cc-join")
    expect_state(ann, "joined")

    bob = open_page(session["shareUrl"])
    expect_state(bob, "login")
    sign_in(bob, uid="bob smith", auth_key=app_server.auth_key)
    expect_login_error(bob, "ERROR_UID_WITH_SPACE")
    expect(bob.locator("#cc-login-uid")).to_have_attribute("aria-invalid", "true")
    sign_in(bob, uid="bob", auth_key="wrong-key")
    expect_login_error(bob, "ERROR_API_KEY_NOT_FOUND")
    sign_in(bob, uid="nobody", auth_key=app_server.auth_key)
    expect_login_error(bob, "ERR_UID_NOT_FOUND")
    sign_in(bob, uid="bob", auth_key=app_server.auth_key)
    expect_state(bob, "prejoin")
    bob.click("#cc-join")
    expect_state(bob, "joined")

    expect(tile(bob, local_participant_id(ann)).locator(".cc-tile__name")).to_have_text("Ann Lee")
    expect(tile(ann, local_participant_id(bob)).locator(".cc-tile__name")).to_have_text("Bob")
    wait_for_remote_media(bob, count=1)


def test_members_only_page_remembers_the_login_until_sign_out(
    open_page: Callable[..., Page], app_server: AppServer, screenshot_dir: Path
) -> None:
    session = app_server.create_session()
    app_server.create_user("ann", "Ann Lee")
    page = open_page(session["shareUrl"])
    sign_in(page, uid="ann", auth_key=app_server.auth_key)
    expect_state(page, "prejoin")

    page.reload()
    expect_state(page, "prejoin")
    expect(page.locator(f"{ROOT} .cc-prejoin__account")).to_contain_text("Ann Lee")
    page.screenshot(path=str(screenshot_dir / "prejoin-signed-in.png"))
    page.click("#cc-sign-out")
    expect_state(page, "login")
    page.reload()
    expect_state(page, "login")


def test_members_only_page_with_skip_prejoin_joins_once_signed_in(
    open_page: Callable[..., Page], app_server: AppServer
) -> None:
    """skipPrejoin joins straight after the login, under the member's own name."""
    session = app_server.create_session()
    app_server.create_user("ann", "Ann Lee")
    page = open_page(session["shareUrl"] + "?skipPrejoin=1")
    sign_in(page, uid="ann", auth_key=app_server.auth_key)
    expect_state(page, "joined")
    expect(tile(page, local_participant_id(page)).locator(".cc-tile__name")).to_contain_text("Ann Lee")


def test_members_only_page_asks_again_when_the_remembered_login_was_revoked(
    open_page: Callable[..., Page], app_server: AppServer
) -> None:
    session = app_server.create_session()
    app_server.create_user("ann", "Ann Lee")
    issued = app_server.auth_token("ann")
    page = open_page(session["shareUrl"])
    sign_in(page, auth_token=issued["authToken"])
    expect_state(page, "prejoin")
    app_server.revoke_auth_token("ann", issued["id"])
    page.click("#cc-join")
    expect_state(page, "login")
    expect_login_error(page, "ERROR_AUTH_TOKEN")
    expect(page.locator(LOGIN_ERROR)).to_contain_text("sign in again")


def test_guest_share_page_still_joins_without_a_login(open_page: Callable[..., Page], app_server: AppServer) -> None:
    """The share page initialises a guest-capable SDK: an app's call that admits guests needs no login."""
    session = app_server.create_session("Open house", allow_guests=True)
    page = open_page(session["shareUrl"] + "?skipPrejoin=1&displayName=Visitor")
    expect_state(page, "joined")
    assert page.evaluate("() => [CometChatCalls.isInitialized(), CometChatCalls.isUserLoggedIn()]") == [True, False]
    expect(tile(page, local_participant_id(page)).locator(".cc-tile__name")).to_contain_text("Visitor")


# A third-party site embedding calls (docs/embed_example/server.py).


@pytest.fixture
def embed_site(app_server: AppServer) -> Iterator[str]:
    """The Acme Tutoring example running against the test server; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "ACME_PORT": str(port),
        "CALLS_URL": app_server.base_url,
        "CALLS_APP_ID": app_server.app_id,
        "CALLS_API_KEY": app_server.api_key,
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(EMBED_EXAMPLE)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + EMBED_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"The embedding example exited with {process.returncode}:\n{output}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"The embedding example did not listen on {port}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)
        if process.stdout:
            process.stdout.close()


def test_embedding_site_pages_see_each_other(open_page: Callable[..., Page], embed_site: str) -> None:
    """Two people on another origin load the SDK from the calls server, init with its host and join."""
    ann = open_page(f"{embed_site}/lesson?user=ann")
    bob = open_page(f"{embed_site}/lesson?user=bob")
    for page in (ann, bob):
        expect_state(page, "joined")
        assert page.evaluate("() => location.origin") == embed_site
    expect(tile(bob, local_participant_id(ann)).locator(".cc-tile__name")).to_have_text("Ann (tutor)")
    expect(tile(ann, local_participant_id(bob)).locator(".cc-tile__name")).to_have_text("Bob (student)")
    wait_for_remote_media(ann, count=1)
    wait_for_remote_media(bob, count=1)


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1440, 900)])
def test_members_sign_in_fits_phones_and_desktops(
    open_page: Callable[..., Page], app_server: AppServer, screenshot_dir: Path, width: int, height: int
) -> None:
    """The sign-in form needs no sideways scrolling; its fields and button are on screen, with either method."""
    session = app_server.create_session("Board meeting")
    page = open_page(session["shareUrl"], width, height)
    expect_state(page, "login")
    page.check("#cc-login-method-key")
    sign_in(page, uid="ann lee", auth_key="x")
    expect_login_error(page, "ERROR_UID_WITH_SPACE")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    for selector in ("#cc-login-uid", "#cc-login-auth-key", "#cc-login", ".cc-login__error"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
    page.locator("#cc-login").scroll_into_view_if_needed()
    expect(page.locator("#cc-login")).to_be_in_viewport()
    page.screenshot(path=str(screenshot_dir / f"members-sign-in-{width}px.png"))
