"""
A third-party site embedding a call: "Acme Tutoring" has its own server and users.

Acme's server keeps its calls API key (never sent to browsers). When one of
its users opens a lesson, it makes sure the user exists in calls, creates
the lesson's call session once, and mints a call token for that user and that
session through the REST API. The page then loads the calls SDK from the
calls server, initialises it with the calls server as its ``host`` and joins
with that token (a call token needs no login in the browser).

Run (calls on :8000, this site on :8100):

    .venv/bin/python manage.py create_app --name "Acme Tutoring"   # note appId and apiKey
    CALLS_APP_ID=... CALLS_API_KEY=... .venv/bin/python docs/embed_example/server.py
    open http://127.0.0.1:8100/lesson?user=ann and http://127.0.0.1:8100/lesson?user=bob

Deployed for real, list this site's origin in the calls server's
CALLS_EMBED_ORIGINS so its pages may open the signaling websocket (the REST
API and the SDK's files already answer any origin).

Standard library only, so it stands for any backend (PHP, Rails, Node...).
"""

from __future__ import annotations

import html
import json
import os
import re
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CALLS_URL = os.environ.get("CALLS_URL", "http://127.0.0.1:8000").rstrip("/")
APP_ID = os.environ.get("CALLS_APP_ID", "")
API_KEY = os.environ.get("CALLS_API_KEY", "")
PORT = int(os.environ.get("ACME_PORT", "8100"))
USERS = {"ann": "Ann (tutor)", "bob": "Bob (student)", "cho": "Cho (student)"}
lesson_session_id: str | None = None


def calls_api(method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, dict[str, object]]:
    """Call the calls REST API as Acme's server, with the app's API key."""
    request = urllib.request.Request(
        f"{CALLS_URL}/api/v1{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"appid": APP_ID, "apikey": API_KEY, "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def lesson_token(uid: str) -> str:
    """Ensure the user and the lesson's session exist; mint this user's call token for it."""
    global lesson_session_id
    status, payload = calls_api("POST", "/users", {"uid": uid, "name": USERS[uid]})
    if status not in (201, 409):
        raise RuntimeError(f"creating the user failed: {payload}")
    if lesson_session_id is None:
        status, payload = calls_api("POST", "/sessions", {"title": "Algebra lesson", "type": "VIDEO"})
        if status != 201:
            raise RuntimeError(f"creating the session failed: {payload}")
        lesson_session_id = payload["data"]["sessionId"]  # type: ignore[index]
    status, payload = calls_api("POST", "/tokens", {"sessionId": lesson_session_id, "uid": uid})
    if status != 201:
        raise RuntimeError(f"minting the call token failed: {payload}")
    return payload["data"]["token"]  # type: ignore[index]


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Tutoring: lesson</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{calls}/static/calls/calls.css">
<style>body{{margin:0;font-family:system-ui;background:#f4f1ea}}
header{{padding:12px 20px;background:#2d4a3e;color:#fff}}
#call_view_container{{height:calc(100vh - 52px)}}</style></head>
<body><header>Acme Tutoring &middot; {name}</header>
<div id="call_view_container"></div>
<script type="application/json" id="lesson">{config}</script>
<script type="module">
import CometChatCalls from "{calls}/static/calls/calls.js";
const lesson = JSON.parse(document.getElementById("lesson").textContent);
const init = await CometChatCalls.init({{appId: lesson.appId, region: "us", host: lesson.host}});
if (!init.success) throw new Error(init.error.message);
const {{error}} = await CometChatCalls.joinSession(lesson.token, {{displayName: lesson.name}},
  document.getElementById("call_view_container"));
if (error) document.body.append("Could not join: " + error.errorCode);
</script></body></html>"""


class AcmeHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        uid = parse_qs(url.query).get("user", ["ann"])[0]
        if url.path != "/lesson" or not re.fullmatch(r"[a-z]+", uid) or uid not in USERS:
            self.send_error(404, "Try /lesson?user=ann or /lesson?user=bob")
            return
        config = {"appId": APP_ID, "host": CALLS_URL, "token": lesson_token(uid), "name": USERS[uid]}
        body = PAGE.format(
            calls=html.escape(CALLS_URL),
            name=html.escape(USERS[uid]),
            config=json.dumps(config).replace("<", "\\u003c"),
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep tokens in URLs and bodies out of the console


def main() -> None:
    if not APP_ID or not API_KEY:
        raise SystemExit("Set CALLS_APP_ID and CALLS_API_KEY (from `manage.py create_app`).")
    server = ThreadingHTTPServer(("127.0.0.1", PORT), AcmeHandler)
    print(f"Acme Tutoring on http://127.0.0.1:{PORT}/lesson?user=ann")
    server.serve_forever()


if __name__ == "__main__":
    main()
