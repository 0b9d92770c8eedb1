"""
CORS for the REST API and the participant list partial, so the SDK can call them from an
embedding site's origin.

Both authenticate with headers (appid, apikey, authtoken; a call token), never with
cookies, so answering any allowed origin exposes nothing a cross-site page
could not already send. ``CALLS_CORS_ALLOWED_ORIGINS`` narrows it ("*" by default).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

ALLOWED_HEADERS = "appid, apikey, authtoken, content-type, x-call-token, hx-request"
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE_SECONDS = 600


class ApiCorsMiddleware:
    """Answers preflights and adds CORS headers on the API and the participant list partial."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @cached_property
    def cross_origin(self) -> re.Pattern[str]:
        """The API's paths and the participant panel's, wherever the URLconf mounts them."""
        api = reverse("api-openapi").removesuffix("openapi.json")
        panel = reverse("participant-list", args=["SESSION"]).split("SESSION")
        return re.compile(f"{re.escape(api)}|{re.escape(panel[0])}[^/]*{re.escape(panel[1])}$")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if not self.cross_origin.match(path):
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
