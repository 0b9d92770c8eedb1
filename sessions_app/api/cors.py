"""
CORS for the REST API and the participant list partial, so the SDK can call them from an
embedding site's origin.

Both authenticate with headers (appid, apikey, authtoken; a call token), never with
cookies, so answering any allowed origin exposes nothing a cross-site page
could not already send. ``CALLS_CORS_ALLOWED_ORIGINS`` narrows it ("*" by default).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/v1/"
PARTIAL_PREFIX, PARTIAL_SUFFIX = "/s/", "/participants/"
ALLOWED_HEADERS = "appid, apikey, authtoken, content-type, x-call-token, hx-request"
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE_SECONDS = 600


class ApiCorsMiddleware:
    """Answers preflights and adds CORS headers on the API and the participant list partial."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if not (path.startswith(API_PREFIX) or (path.startswith(PARTIAL_PREFIX) and path.endswith(PARTIAL_SUFFIX))):
            return self.get_response(request)
        origin = request.headers.get("origin", "")
        preflight = request.method == "OPTIONS" and "access-control-request-method" in request.headers
        response = HttpResponse(status=204) if preflight else self.get_response(request)
        allowed = getattr(settings, "CALLS_CORS_ALLOWED_ORIGINS", ["*"])
        if origin and ("*" in allowed or origin in allowed):
            response["Access-Control-Allow-Origin"] = "*" if "*" in allowed else origin
            response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_SECONDS)
            if "*" not in allowed:
                response["Vary"] = "Origin"
        return response
