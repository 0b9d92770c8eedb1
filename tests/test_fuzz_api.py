"""
Every REST operation fuzzed from the OpenAPI schema the app serves, with Schemathesis.

Generated requests (valid and invalid, per the schema) go through the real WSGI
application, without credentials and with an app's valid ones. No answer may be
a server error, and every answer must be one the schema documents, body included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sessions_app.api import views as api
from sessions_app.models import App, AppUser, AuthToken, CallSession

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]

APPLICATION = get_wsgi_application()
SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APPLICATION)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class Credentials:
    app_id: str
    api_key: str
    auth_token: str
    uid: str
    session_id: str
    guest_session_id: str
    token_id: int


@pytest.fixture(autouse=True)
def generous_rate_limits(settings: Any) -> Iterator[None]:
    """Generated traffic is not all 429s (which stays a documented answer)."""
    settings.CALLS_TOKEN_RATE = "100000/m"
    settings.CALLS_LOGIN_RATE = "100000/m"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def requests_share_the_test_transaction() -> Iterator[None]:
    """As Django's test client does: a request must not close the test's database connection."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def credentials() -> Credentials:
    app, api_key, _ = App.create_with_keys("Fuzz")
    user = AppUser.objects.create(app=app, uid="ann", name="Ann")
    token, secret = AuthToken.issue(user)
    session = CallSession.objects.create(app=app, title="Fuzz")
    guest_session = CallSession.objects.create(title="Open", allow_guests=True)
    return Credentials(app.app_id, api_key, secret, user.uid, session.session_id, guest_session.session_id, token.pk)


def operation_id(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


def call_and_check(case: Any, headers: dict[str, str] | None = None) -> None:
    response = case.call(headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=operation_id)
def test_without_credentials(operation: Any, mode: GenerationMode) -> None:
    """Whatever a stranger sends, the answer is documented: never a 5xx, never an undocumented status or body."""

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        call_and_check(case)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=operation_id)
def test_with_valid_credentials(operation: Any, mode: GenerationMode, credentials: Credentials) -> None:
    """With an app's valid keys and a user's auth token, and often real path IDs, answers stay documented."""
    real_path = {
        "uid": credentials.uid,
        "sessionId": credentials.guest_session_id if operation.path.endswith("guest_token") else credentials.session_id,
        "tokenId": credentials.token_id,
    }
    headers = {"appid": credentials.app_id, "apikey": credentials.api_key, "authtoken": credentials.auth_token}

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode), use_real_ids=st.booleans())
    def run(case: Any, use_real_ids: bool) -> None:
        if use_real_ids and case.path_parameters:
            case.path_parameters = {name: real_path.get(name, value) for name, value in case.path_parameters.items()}
        call_and_check(case, headers)

    run()


@pytest.mark.parametrize("path", ["/users", "/login", "/tokens", "/sessions", "/sessions/{sessionId}/guest_token"])
def test_oversized_bodies_are_a_documented_413(path: str, credentials: Credentials) -> None:
    """A body over 16 KiB is refused with 413 ERR_BAD_REQUEST, which the schema documents."""
    operation = SCHEMA[path]["POST"]
    case = operation.Case(
        body={"uid": "ann", "name": "x" * 20_000},
        path_parameters={"sessionId": credentials.guest_session_id} if "{" in path else None,
        headers={"appid": credentials.app_id, "apikey": credentials.api_key},
    )
    response = case.call()
    assert response.status_code == 413 and response.json()["error"]["code"] == "ERR_BAD_REQUEST"
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(
    "path", ["/api/v1/users/ann/auth_tokens/not-a-number", "/api/v1/users/a/b/c", "/api/v1/nothing-here"]
)
def test_unknown_api_paths_answer_json_not_a_page(client: Client, path: str) -> None:
    """Under /api/v1/ an unknown path is a JSON 404 ERR_NOT_FOUND, like every other API refusal."""
    response = client.delete(path)
    assert response.status_code == 404 and response.json()["error"]["code"] == "ERR_NOT_FOUND"


def test_rate_limits_work_without_a_client_address(rf: RequestFactory) -> None:
    """An ASGI server on a unix socket sends no REMOTE_ADDR: the rate-limited endpoints still answer."""
    session = CallSession.objects.create(allow_guests=True)
    request = rf.post(f"/api/v1/sessions/{session.session_id}/guest_token", "{}", content_type="application/json")
    del request.META["REMOTE_ADDR"]
    response = api.guest_token_view(request, session_id=session.session_id)
    assert response.status_code == 201
