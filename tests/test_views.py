"""Pages: home, join by ID or link, the share-link page, and the create_session command."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from sessions_app import errors
from sessions_app.links import session_id_from_input, share_url
from sessions_app.models import CallSession, SessionType

pytestmark = pytest.mark.django_db


def test_home_page_offers_to_start_and_join(client: Client) -> None:
    """The home page renders both forms."""
    response = client.get("/")
    assert response.status_code == 200
    assert b'name="session"' in response.content


def test_starting_a_call_creates_a_session_and_shows_its_link(client: Client) -> None:
    """POSTing the start form creates an unguessable session and shows its share link."""
    response = client.post("/", {"title": "Retro <b>", "type": "VOICE"})
    assert response.status_code == 200
    session = CallSession.objects.get()
    assert len(session.session_id) == 20 and session.session_type == SessionType.VOICE
    assert f"/s/{session.session_id}/".encode() in response.content
    assert b"Retro <b>" not in response.content


def test_unknown_session_type_falls_back_to_video(client: Client) -> None:
    """A forged session type does not crash: the call is a video call."""
    client.post("/", {"type": "HOLOGRAM"})
    assert CallSession.objects.get().session_type == SessionType.VIDEO


def test_join_by_link_redirects_to_the_session(client: Client) -> None:
    """Pasting a full share link goes to that session's page."""
    response = client.get("/join/", {"session": "https://calls.example/s/abc123/?displayName=x"})
    assert response.status_code == 302 and response["Location"] == "/s/abc123/"


def test_join_with_garbage_shows_error_call_session_id(client: Client) -> None:
    """An empty or invalid ID re-renders the form with ERROR_CALL_SESSION_ID."""
    response = client.get("/join/", {"session": "   "})
    assert response.status_code == 400
    assert errors.ERROR_CALL_SESSION_ID.encode() in response.content


def test_session_page_has_the_call_container(client: Client) -> None:
    """The share link renders the page with #call_view_container and the call config."""
    session = CallSession.objects.create(title="Weekly")
    response = client.get(f"/s/{session.session_id}/")
    assert response.status_code == 200
    assert b'id="call_view_container"' in response.content
    assert session.session_id.encode() in response.content


@pytest.mark.parametrize("session_id", ["nope", "bad$id"])
def test_unknown_session_is_a_404_page(client: Client, session_id: str) -> None:
    """Unknown sessions get a clear 404, not a crash."""
    response = client.get(f"/s/{session_id}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc123", "abc123"),
        ("  abc123 ", "abc123"),
        ("http://h:8000/s/abc123/", "abc123"),
        ("/s/abc_12-3/?x=1", "abc_12-3"),
        ("", None),
        ("http://h/other/", None),
        ("a b", None),
        ("x" * 65, None),
    ],
)
def test_session_id_from_input(text: str, expected: str | None) -> None:
    """Bare IDs and share links both yield the session ID; anything else yields None."""
    assert session_id_from_input(text) == expected


def test_create_session_prints_share_url_last(settings: object) -> None:
    """create_session prints the share URL on its last line, honouring CALLS_PUBLIC_URL."""
    settings.CALLS_PUBLIC_URL = "https://meet.example.org"  # type: ignore[attr-defined]
    out = io.StringIO()
    call_command("create_session", "--title", "Demo", "--type", "VOICE", stdout=out)
    session = CallSession.objects.get()
    assert out.getvalue().strip().splitlines()[-1] == f"https://meet.example.org/s/{session.session_id}/"
    assert session.title == "Demo" and session.session_type == SessionType.VOICE
    assert share_url(session.session_id) == f"https://meet.example.org/s/{session.session_id}/"


def test_participant_list_partial_orders_raised_hands_first(client: Client) -> None:
    """
    The server-rendered rows: raised hands in raise order, then the viewer, then by join time;
    names escaped; the viewer's own page's state (pinned, menu, voice) as asked.
    """
    from datetime import timedelta

    from django.utils import timezone

    from sessions_app.models import Participant
    from sessions_app.tokens import call_tokens

    session = CallSession.objects.create()
    now = timezone.now()
    ann = Participant.objects.create(session=session, display_name="<i>Ann</i>", joined_at=now)
    Participant.objects.create(session=session, display_name="Bob", hand_raised_at=now + timedelta(seconds=5))
    Participant.objects.create(session=session, display_name="Cho", hand_raised_at=now + timedelta(seconds=1))
    Participant.objects.create(session=session, display_name="Gone", left_at=now)
    dee = Participant.objects.create(
        session=session, display_name="Dee Dee", joined_at=now + timedelta(seconds=9), video_paused=True
    )
    token, _ = call_tokens.issue(session, None, "Viewer")
    response = client.get(
        f"/s/{session.session_id}/participants/?self={dee.participant_id}&pinned={ann.participant_id}&menu=1",
        headers={"X-Call-Token": token, "HX-Request": "true"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and page.count('class="cc-panel__row"') == 4
    assert page.index("Cho") < page.index("Bob") < page.index("Dee Dee (You)") < page.index("&lt;i&gt;Ann&lt;/i&gt;")
    assert "Gone" not in page and "<i>Ann</i>" not in page
    assert page.count('data-hand-raised="true"') == 2 and page.count('aria-label="Pinned"') == 1
    assert page.count('aria-label="Camera off"') == 1 and page.count('data-action="participant-menu"') == 4
    assert ">DD</span>" in page

    voice = client.get(f"/s/{session.session_id}/participants/?voice=1", headers={"X-Call-Token": token})
    assert 'aria-label="Camera off"' not in voice.content.decode()
    assert 'data-action="participant-menu"' not in voice.content.decode()


def test_participant_list_marks_guests_moderators_and_holds(client: Client) -> None:
    """Rows say who is a guest or a moderator, and show a moderator's hold (a lock, not "Microphone off")."""
    from sessions_app.models import Participant, Role
    from sessions_app.tokens import call_tokens

    session = CallSession.objects.create()
    mod = Participant.objects.create(session=session, display_name="Mo", is_guest=False, role=Role.MODERATOR)
    gus = Participant.objects.create(
        session=session, display_name="Gus", is_guest=True, audio_muted=True, audio_held=True, video_paused=True
    )
    token, _ = call_tokens.issue(session, None, "Viewer")
    response = client.get(f"/s/{session.session_id}/participants/", headers={"X-Call-Token": token})
    page = response.content.decode()
    mod_row = page.split(f'data-pid="{mod.participant_id}"')[1].split("</li>")[0]
    gus_row = page.split(f'data-pid="{gus.participant_id}"')[1].split("</li>")[0]
    assert 'data-role="moderator"' in mod_row and ">Moderator</span>" in mod_row and "Guest" not in mod_row
    assert 'data-guest="true"' in gus_row and ">Guest</span>" in gus_row
    assert 'data-audio-held="true"' in gus_row and 'aria-label="Muted by a moderator"' in gus_row
    assert "Microphone off" not in gus_row and 'aria-label="Camera off"' in gus_row


def test_participant_list_shows_http_avatars_over_the_initials(client: Client) -> None:
    """
    A participant's picture goes over its initials (which stay, for a picture that fails to load); only
    http(s) pictures are shown, and the URL is escaped in its attribute.
    """
    from sessions_app.models import Participant
    from sessions_app.tokens import call_tokens

    session = CallSession.objects.create()
    ann = Participant.objects.create(session=session, display_name="Ann", avatar="https://example.org/ann.png")
    odd = Participant.objects.create(
        session=session, display_name="Odd", avatar='https://example.org/a.png?x="><script>alert(1)</script>'
    )
    ftp = Participant.objects.create(session=session, display_name="Ftp", avatar="ftp://example.org/ftp.png")
    token, _ = call_tokens.issue(session, None, "Viewer")
    page = client.get(f"/s/{session.session_id}/participants/", headers={"X-Call-Token": token}).content.decode()
    rows = {
        p.participant_id: page.split(f'data-pid="{p.participant_id}"')[1].split("</li>")[0] for p in (ann, odd, ftp)
    }
    assert '<span class="cc-avatar__initials">A</span><img class="cc-avatar__image"' in rows[ann.participant_id]
    assert 'src="https://example.org/ann.png"' in rows[ann.participant_id]
    assert 'src="https://example.org/a.png?x=&quot;&gt;&lt;script&gt;' in rows[odd.participant_id]
    assert "<script>" not in page
    assert "<img" not in rows[ftp.participant_id] and ">F</span>" in rows[ftp.participant_id]


def test_panel_avatars_match_the_sdk() -> None:
    """Initials and colour classes are computed as static/calls/dom.js does (same inputs, same outputs)."""
    from sessions_app.web.participant_panel import avatar_colour_class, initials

    assert [initials(n) for n in ("Ada Lovelace", "ada", "  ", "élodie  de la Tour")] == ["AL", "A", "?", "ÉT"]
    # dom.js: hash = (hash * 31 + codePoint) >>> 0 over the code points; class cc-avatar--c{hash % 8}.
    assert avatar_colour_class("abc") == f"cc-avatar--c{(((97 * 31) + 98) * 31 + 99) % 8}"


def test_participant_list_needs_a_call_token_for_that_session(client: Client) -> None:
    from sessions_app.tokens import call_tokens

    session, other = CallSession.objects.create(), CallSession.objects.create()
    token, _ = call_tokens.issue(other, None, "Viewer")
    for headers in ({}, {"X-Call-Token": token}):
        response = client.get(f"/s/{session.session_id}/participants/", headers=headers)
        assert response.status_code == 403 and errors.ERROR_CALL_TOKEN.encode() in response.content


QUERY_GARBAGE = [
    {"layout": "<script>alert(1)</script>", "startAudioMuted": "maybe", "displayName": "x" * 2000},
    {
        "displayName": "</script><script>alert(1)</script>",
        "startVideoPaused": "2",
        "idleTimeoutPeriodBeforePrompt": "-1",
    },
    {"layout": "", "sessionType": "\u202e\u0000", "title": "\"'><img src=x onerror=alert(1)>"},
    {"settings": "{broken json", "lockedSettings": "[1,2", "displayName": "%00%ff"},
]


@pytest.mark.parametrize("query", QUERY_GARBAGE)
def test_share_page_ignores_garbage_query_settings(client: Client, query: dict[str, str]) -> None:
    """Whatever the link's query says, the page renders, reflects none of it, and its config is the session's."""
    session = CallSession.objects.create(title="Standup", settings={"layout": "SIDEBAR"})
    response = client.get(f"/s/{session.session_id}/", query)
    assert response.status_code == 200
    page = response.content.decode()
    for value in query.values():
        if len(value) > 3:
            assert value not in page
    config = re.search(r'<script id="call-config" type="application/json">(.*?)</script>', page, re.S)
    assert config is not None
    parsed = json.loads(config.group(1))
    assert parsed["sessionId"] == session.session_id
    assert parsed["settings"]["layout"] == "SIDEBAR" and parsed["title"] == "Standup"


def test_share_page_escapes_a_hostile_title(client: Client) -> None:
    """A title is data in the json_script block, never markup."""
    title = "</script><script>alert(1)</script>"
    session = CallSession.objects.create(title=title)
    page = client.get(f"/s/{session.session_id}/").content.decode()
    assert "<script>alert(1)" not in page
    config = re.search(r'<script id="call-config" type="application/json">(.*?)</script>', page, re.S)
    assert config is not None and json.loads(config.group(1))["title"] == title
