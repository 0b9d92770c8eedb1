"""
CORS for the REST API, so the SDK can call it from an embedding site's origin.

The API authenticates with headers (appid, apikey, authtoken), never with
cookies, so answering any allowed origin exposes nothing a cross-site page
could not already send. ``CALLS_CORS_ALLOWED_ORIGINS`` narrows it ("*" by default).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

API_PREFIX = "/api/v1/"
ALLOWED_HEADERS = "appid, apikey, authtoken, content-type"
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE_SECONDS = 600


class ApiCorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
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
