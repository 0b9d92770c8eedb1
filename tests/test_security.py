"""
Hardening: Content-Security-Policy, framing, production security settings, CSRF, escaping,
websocket origins and what reaches the logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client, override_settings

from calls_project.asgi import application as asgi_application
from sessions_app.models import CallSession, Participant, SessionStatus
from tests.calls_state import reset_calls
from tests.media_client import MediaClient
from tests.test_consumer import open_socket, receive_type
from tests.test_sfu import wait_until

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PATH = ROOT / "calls_project" / "settings.py"
XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "test-only-" + "k3y-" * 15,
    "DJANGO_ALLOWED_HOSTS": "calls.example.org",
}
# Everything the settings read for these concerns, so the caller's environment cannot leak in.
SECURITY_ENV_NAMES = [
    "CALLS_FRAME_ANCESTORS",
    "DJANGO_SECURE_COOKIES",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SECURE_PROXY_SSL_HEADER",
    "DJANGO_SECURE_HSTS_SECONDS",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "DJANGO_SECURE_HSTS_PRELOAD",
]
ADMIN_PAGES = [
    "/admin/",
    "/admin/sessions_app/callsession/",
    "/admin/sessions_app/callsession/add/",
    "/admin/sessions_app/callsession/live/",
    "/admin/sessions_app/participant/",
    "/admin/webhooks/webhookendpoint/",
    "/admin/webhooks/webhookendpoint/add/",
]


def settings_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """calls_project/settings.py evaluated under ``env``; the settings of this test run are untouched."""
    for name in SECURITY_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_PATH))


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("operator", "op@example.org", "pw-for-tests-only"))
    return client


# Content-Security-Policy.


@pytest.mark.parametrize("path", ["/", "/s/{session_id}/", "/admin/login/"])
def test_html_pages_carry_a_csp_without_unsafe_sources(client: Client, path: str) -> None:
    """The home, share and admin login pages forbid inline code, eval, plugins and framing by others."""
    session = CallSession.objects.create()
    response = client.get(path.format(session_id=session.session_id))
    assert response.status_code == 200
    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    policy = directives(header)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    # Avatars may come from any https: host (and this one); nothing else reaches an <img>.
    assert sorted(policy["img-src"]) == sorted(["'self'", "data:", "blob:", "https:"])
    assert "mediastream:" in policy["media-src"] and "blob:" in policy["media-src"]
    assert policy["frame-ancestors"] == ["'none'"] and response["X-Frame-Options"] == "DENY"


INLINE_CODE = [
    re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle=", re.I),
    re.compile(r"\son[a-z]+=", re.I),
    re.compile(r"javascript:", re.I),
]


@pytest.mark.parametrize("path", ["/", "/s/{session_id}/", "/admin/login/", *ADMIN_PAGES])
def test_pages_have_no_inline_code_the_policy_would_block(staff: Client, path: str) -> None:
    """No inline script, style element, style attribute or event handler: the CSP would block each of them."""
    session = CallSession.objects.create(title="Board", status=SessionStatus.ONGOING)
    Participant.objects.create(session=session, display_name="Ann")
    content = staff.get(path.format(session_id=session.session_id)).content.decode()
    for pattern in INLINE_CODE:
        assert not pattern.search(content), f"{path}: {pattern.search(content)}"


def test_frame_ancestors_default_to_none_with_x_frame_options_deny(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_from_env(monkeypatch)
    assert values["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["frame-ancestors"] == ["'none'"]
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" in values["MIDDLEWARE"]


def test_frame_ancestors_self_sends_sameorigin(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_from_env(monkeypatch, CALLS_FRAME_ANCESTORS="self")
    assert values["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["frame-ancestors"] == ["'self'"]
    assert values["X_FRAME_OPTIONS"] == "SAMEORIGIN"


def test_embedding_sites_get_frame_ancestors_and_no_contradicting_x_frame_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Listed sites may frame the pages; X-Frame-Options, which cannot name them, is not sent."""
    values = settings_from_env(
        monkeypatch, CALLS_FRAME_ANCESTORS="'self', https://acme.example  https://*.acme.example"
    )
    ancestors = values["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["frame-ancestors"]
    assert ancestors == ["'self'", "https://acme.example", "https://*.acme.example"]
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" not in values["MIDDLEWARE"]
    session = CallSession.objects.create()
    with override_settings(CONTENT_SECURITY_POLICY=values["CONTENT_SECURITY_POLICY"], MIDDLEWARE=values["MIDDLEWARE"]):
        response = Client().get(f"/s/{session.session_id}/")
    assert directives(response["Content-Security-Policy"])["frame-ancestors"] == ancestors
    assert "X-Frame-Options" not in response


@pytest.mark.parametrize("value", ["https://acme.example; script-src *", "none https://acme.example", "'unsafe-inline"])
def test_frame_ancestors_that_could_break_the_policy_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="CALLS_FRAME_ANCESTORS"):
        settings_from_env(monkeypatch, CALLS_FRAME_ANCESTORS=value)


# Production settings.


def test_production_settings_are_https_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without debug: secure cookies, HSTS for a year with subdomains, and http redirected to https."""
    values = settings_from_env(monkeypatch, **PRODUCTION_ENV)
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True and values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert "SECURE_PROXY_SSL_HEADER" not in values
    behind_proxy = settings_from_env(monkeypatch, **PRODUCTION_ENV, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert behind_proxy["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_development_settings_do_not_force_https(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` (DJANGO_DEBUG=1) keeps serving plain http on 127.0.0.1."""
    values = settings_from_env(monkeypatch, DJANGO_DEBUG="1")
    assert "SECURE_SSL_REDIRECT" not in values and "SECURE_HSTS_SECONDS" not in values


def test_production_responses_send_hsts_and_secure_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the production values, https answers carry HSTS and a Secure CSRF cookie; http is redirected."""
    values = settings_from_env(monkeypatch, **PRODUCTION_ENV)
    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
             "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD"]  # fmt: skip
    with override_settings(**{name: values[name] for name in names}):
        client = Client()
        secure = client.get("/", secure=True)
        assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert secure.cookies["csrftoken"]["secure"] is True
        assert secure["X-Content-Type-Options"] == "nosniff" and secure["Referrer-Policy"] == "same-origin"
        plain = client.get("/")
        assert plain.status_code == 301 and plain["Location"] == "https://testserver/"


@pytest.mark.parametrize("frame_ancestors", ["", "self", "https://acme.example"])
def test_deploy_check_is_clean_with_production_settings(frame_ancestors: str) -> None:
    """`manage.py check --deploy` reports nothing, warnings included, for a production configuration."""
    env = {name: value for name, value in os.environ.items() if name not in SECURITY_ENV_NAMES}
    env.update(PRODUCTION_ENV, DJANGO_SECRET_KEY=secrets.token_urlsafe(50), CALLS_FRAME_ANCESTORS=frame_ancestors)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# CSRF.


def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


def test_starting_a_call_needs_the_csrf_token() -> None:
    """The home page's start form carries a CSRF token; a POST without it is refused and creates nothing."""
    client = csrf_client()
    page = client.get("/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page
    assert client.post("/", {"title": "Forged"}).status_code == 403
    assert not CallSession.objects.exists()
    token = client.cookies["csrftoken"].value
    assert client.post("/", {"title": "Real", "csrfmiddlewaretoken": token}).status_code == 200
    assert CallSession.objects.get().title == "Real"


def test_admin_login_needs_the_csrf_token() -> None:
    client = csrf_client()
    assert 'name="csrfmiddlewaretoken"' in client.get("/admin/login/").content.decode()
    User.objects.create_superuser("operator", "op@example.org", "pw-for-tests-only")
    response = client.post("/admin/login/", {"username": "operator", "password": "pw-for-tests-only"})
    assert response.status_code == 403


def test_admin_forms_and_live_actions_need_the_csrf_token() -> None:
    """Admin forms carry the token; a live action posted without it (a forged request) changes nothing."""
    client = csrf_client()
    client.force_login(User.objects.create_superuser("operator", "op@example.org", "pw-for-tests-only"))
    assert 'name="csrfmiddlewaretoken"' in client.get("/admin/sessions_app/callsession/add/").content.decode()
    assert "X-CSRFToken" in client.get("/admin/sessions_app/callsession/live/").content.decode()
    session = CallSession.objects.create(status=SessionStatus.ONGOING)
    assert client.post("/admin/sessions_app/callsession/add/", {"title": "Forged"}).status_code == 403
    url = f"/admin/sessions_app/callsession/live/session/{session.session_id}/end/"
    assert client.post(url).status_code == 403
    session.refresh_from_db()
    assert session.status == SessionStatus.ONGOING
    assert client.post(url, headers={"X-CSRFToken": client.cookies["csrftoken"].value}).status_code == 200
    session.refresh_from_db()
    assert session.status != SessionStatus.ONGOING


# Escaping.


def test_titles_are_escaped_on_the_home_and_share_pages(client: Client) -> None:
    created = client.post("/", {"title": XSS}).content.decode()
    assert XSS_ESCAPED in created and XSS not in created
    session = CallSession.objects.get()
    page = client.get(f"/s/{session.session_id}/").content.decode()
    assert f"<title>{XSS_ESCAPED} · Calls</title>" in page and XSS not in page


def test_names_and_titles_are_escaped_in_the_admin(staff: Client) -> None:
    """Change lists, change forms and the live page show typed markup as text."""
    session = CallSession.objects.create(title=XSS, status=SessionStatus.ONGOING)
    participant = Participant.objects.create(session=session, display_name=XSS)
    for path in (
        "/admin/sessions_app/callsession/",
        f"/admin/sessions_app/callsession/{session.pk}/change/",
        "/admin/sessions_app/participant/",
        f"/admin/sessions_app/participant/{participant.pk}/change/",
        "/admin/sessions_app/callsession/live/",
    ):
        page = staff.get(path).content.decode()
        assert XSS_ESCAPED in page and XSS not in page, path
    ended = staff.post(f"/admin/sessions_app/callsession/live/session/{session.session_id}/end/").content.decode()
    assert f"The call {XSS_ESCAPED} was ended" in ended and XSS not in ended


# Websocket origins.


async def connect_with_origin(origin: bytes | None) -> bool:
    headers = [(b"origin", origin)] if origin is not None else []
    communicator = WebsocketCommunicator(asgi_application, "/ws/calls/nosuchcall/", headers=headers)
    connected, _ = await communicator.connect()
    await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (b"http://127.0.0.1:8000", True),
        (b"http://localhost:8000", True),
        (b"https://evil.example", False),
        (b"http://127.0.0.1.evil.example", False),
        (None, False),
    ],
)
async def test_signaling_socket_only_opens_for_allowed_origins(origin: bytes | None, allowed: bool) -> None:
    """The websocket is refused before the consumer for pages of other sites (cross-site websocket hijacking)."""
    assert await connect_with_origin(origin) is allowed


# Logs.


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
async def test_tokens_and_sdp_stay_out_of_logs_above_debug(caplog: pytest.LogCaptureFixture, settings: Any) -> None:
    """A REST guest token, a websocket join and a full offer/answer log neither the token nor any SDP."""
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
    caplog.set_level(logging.INFO)
    session = await CallSession.objects.acreate(title="Logged")
    response = await AsyncClient().post(
        f"/api/v1/sessions/{session.session_id}/guest_token", {"displayName": "Ann"}, content_type="application/json"
    )
    assert response.status_code == 201
    token = response.json()["data"]["token"]
    communicator = await open_socket(session.session_id)
    client = MediaClient("ann", {"audio": AudioStreamTrack(), "video": VideoStreamTrack()})
    try:
        await communicator.send_json_to({"type": "join", "token": token, "displayName": "Ann"})
        await receive_type(communicator, "joined")
        offer = await receive_type(communicator, "offer")
        assert offer["sdp"].startswith("v=0")

        async def send_answer(sdp: str) -> None:
            await communicator.send_to(text_data=json.dumps({"type": "answer", "sdp": sdp}))

        await client.handle_offer(offer, send_answer)
        await wait_until(lambda: client.pc.connectionState == "connected", timeout=15)
        await communicator.send_json_to({"type": "leave"})
        await asyncio.sleep(0.2)
    finally:
        await client.close()
        await communicator.disconnect()
        await reset_calls()
    logged = "\n".join(record.getMessage() for record in caplog.records if record.levelno >= logging.INFO)
    assert token not in logged and token.split(".")[2] not in logged
    assert "v=0" not in logged and "a=fingerprint" not in logged and "a=ice-pwd" not in logged
