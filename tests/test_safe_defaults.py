"""Safe defaults (issue 14, findings 5 and 7): production unless asked, real keys, expiring credentials."""

from __future__ import annotations

import json
import runpy
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone

from sessions_app import errors
from sessions_app.models import App, AppUser, AuthToken, CallSession
from sessions_app.tokens import JWT_ALGORITHM, CallTokenError, call_tokens

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_PATH = ROOT / "calls_project" / "settings.py"
EXAMPLE_ENV = ROOT / "deploy" / "calls.env.example"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    cache.clear()


def settings_under(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> dict[str, Any]:
    """calls_project/settings.py evaluated under ``env`` (None: unset)."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_PATH))


def example_secret_key() -> str:
    line = next(line for line in EXAMPLE_ENV.read_text().splitlines() if line.startswith("DJANGO_SECRET_KEY="))
    return line.split("=", 1)[1]


def test_unset_debug_means_production(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DJANGO_DEBUG unset the settings are production's: a real key is required."""
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY must be set"):
        settings_under(monkeypatch, DJANGO_DEBUG=None, DJANGO_SECRET_KEY=None)
    values = settings_under(monkeypatch, DJANGO_DEBUG=None, DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert values["DEBUG"] is False and values["CALLS_DEV_LOGIN"] is False


@pytest.mark.parametrize(
    "key",
    [
        "django-insecure-development-only-key-do-not-use-in-production",
        "x" * 49,
        pytest.param(None, id="the-example-placeholder"),
    ],
)
def test_production_refuses_development_placeholder_and_short_keys(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        settings_under(monkeypatch, DJANGO_DEBUG="0", DJANGO_SECRET_KEY=key or example_secret_key())


def test_development_keys_are_random_and_kept_outside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without DJANGO_SECRET_KEY, development makes a key once per checkout (mode 0600), in no source file."""
    from calls_project.settings import development_secret_key

    path = tmp_path / ".secret_key"
    key = development_secret_key(path)
    assert len(key) >= 64 and development_secret_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert key not in SETTINGS_PATH.read_text()
    assert ".secret_key" in (ROOT / ".gitignore").read_text().split()


def test_the_development_login_is_off_unless_enabled(settings: Any) -> None:
    """POST /login with the app's auth key is 403 AUTH_ERR_NO_ACCESS when CALLS_DEV_LOGIN is off."""
    app, _, auth_key = App.create_with_keys("Acme")
    AppUser.objects.create(app=app, uid="ann", name="Ann")
    body = json.dumps({"uid": "ann", "authKey": auth_key})
    settings.CALLS_DEV_LOGIN = False
    response = Client().post("/api/v1/login", body, content_type="application/json", headers={"appid": app.app_id})
    assert (response.status_code, response.json()["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)
    settings.CALLS_DEV_LOGIN = True
    response = Client().post("/api/v1/login", body, content_type="application/json", headers={"appid": app.app_id})
    assert response.status_code == 200


def test_auth_tokens_expire(settings: Any) -> None:
    """An auth token carries its expiry and is refused (ERROR_AUTH_TOKEN) once it has passed."""
    settings.CALLS_AUTH_TOKEN_TTL_SECONDS = 3600
    app, _, _ = App.create_with_keys("Acme")
    token, secret = AuthToken.issue(AppUser.objects.create(app=app, uid="ann", name="Ann"))
    assert token.as_api()["expiresAt"] == int((token.created_at + timedelta(hours=1)).timestamp())
    headers = {"appid": app.app_id, "authtoken": secret}
    assert Client().get("/api/v1/me", headers=headers).status_code == 200
    AuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get("/api/v1/me", headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (401, errors.ERROR_AUTH_TOKEN)
    assert "expired" in response.json()["error"]["message"]


def test_a_call_token_re_signed_with_a_later_expiry_is_refused() -> None:
    """The stored record's expiry wins: a JWT re-signed with the real key and a later `exp` is refused."""
    session = CallSession.objects.create()
    token, record = call_tokens.issue(session, None, "Guest")
    record.expires_at = timezone.now() - timedelta(seconds=1)
    record.save(update_fields=["expires_at"])
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = int(timezone.now().timestamp()) + 3600
    forged = jwt.encode(claims, call_tokens._key(), algorithm=JWT_ALGORITHM)
    with pytest.raises(CallTokenError, match="expired"):
        call_tokens.verify(forged, session.session_id)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/sessions/{sid}"),
        ("post", "/api/v1/sessions/{sid}/end"),
        ("get", "/api/v1/calls/{sid}"),
    ],
)
def test_sessions_of_no_app_refuse_every_api_key(method: str, path: str) -> None:
    """A call made on the home page is no app's: its sessions, logs and end answer 403 AUTH_ERR_NO_ACCESS."""
    app, api_key, _ = App.create_with_keys("Acme")
    session = CallSession.objects.create()
    response = getattr(Client(), method)(
        path.format(sid=session.session_id), headers={"appid": app.app_id, "apikey": api_key}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)
    session.refresh_from_db()
    assert not session.is_ended


def test_no_api_key_mints_tokens_for_a_session_of_no_app() -> None:
    app, api_key, _ = App.create_with_keys("Acme")
    AppUser.objects.create(app=app, uid="ann", name="Ann")
    session = CallSession.objects.create()
    response = Client().post(
        "/api/v1/tokens",
        json.dumps({"sessionId": session.session_id, "uid": "ann"}),
        content_type="application/json",
        headers={"appid": app.app_id, "apikey": api_key},
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, errors.AUTH_ERR_NO_ACCESS)


def test_anonymous_call_creation_is_limited_per_address(settings: Any) -> None:
    """Past CALLS_CREATE_RATE, POST / answers 429 with a coded message and creates nothing."""
    settings.CALLS_CREATE_RATE = "2/m"
    client = Client()
    assert [client.post("/", {"title": f"call {n}"}).status_code for n in range(2)] == [200, 200]
    refused = client.post("/", {"title": "one too many"})
    assert refused.status_code == 429 and errors.ERR_TOO_MANY_REQUESTS in refused.content.decode()
    assert not CallSession.objects.filter(title="one too many").exists()


def test_secrets_shown_once_never_travel_in_a_cookie() -> None:
    """An app's keys are shown once through a message kept in the server-side session, not in a cookie."""
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.create_superuser("operator", "op@example.org", "pw-for-tests-only"))
    response = client.post("/admin/sessions_app/app/add/", {"name": "Acme", "region": "us", "default_settings": "{}"})
    assert response.status_code == 302
    assert "messages" not in response.cookies
    page = client.get(response["Location"]).content.decode()
    assert "API key:" in page
    app = App.objects.get(name="Acme")
    assert app.api_key_prefix in page and all(app.api_key_prefix not in c.value for c in client.cookies.values())
