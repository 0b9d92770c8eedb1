"""The calls REST API from the tests' side (an app's server): apps, users, auth tokens, sessions, call tokens."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


def rest(base_url: str, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, dict[str, Any]]:
    """One request to /api/v1 with the given headers; return the status and the JSON body."""
    request = urllib.request.Request(
        f"{base_url}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"content-type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@dataclass(frozen=True)
class AppServer:
    """An app's credentials (from ``manage.py create_app``) and what its server does with the API key."""

    base_url: str
    app_id: str
    api_key: str
    auth_key: str

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        status, payload = rest(self.base_url, method, path, body, appid=self.app_id, apikey=self.api_key)
        assert 200 <= status < 300, (method, path, status, payload)
        return payload["data"]

    def create_user(self, uid: str, name: str, avatar: str = "") -> dict[str, Any]:
        return self.call("POST", "/users", {"uid": uid, "name": name, **({"avatar": avatar} if avatar else {})})

    def create_session(
        self, title: str = "", allow_guests: bool = False, session_type: str = "VIDEO"
    ) -> dict[str, Any]:
        return self.call("POST", "/sessions", {"title": title, "allowGuests": allow_guests, "type": session_type})

    def auth_token(self, uid: str) -> dict[str, Any]:
        """A new auth token for ``uid``: {id, prefix, authToken, ...}."""
        return self.call("POST", f"/users/{uid}/auth_tokens")

    def revoke_auth_token(self, uid: str, token_id: int) -> None:
        self.call("DELETE", f"/users/{uid}/auth_tokens/{token_id}")

    def call_token(self, uid: str, session_id: str) -> str:
        return str(self.call("POST", "/tokens", {"uid": uid, "sessionId": session_id})["token"])
