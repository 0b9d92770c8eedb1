"""The operators' admin: staff only, secrets hidden, live calls and actions that act on the real call."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from sessions_app import errors
from sessions_app.models import (
    App,
    CallSession,
    MediaWorker,
    Participant,
    Recording,
    Restriction,
    RestrictionKind,
    SessionStatus,
)

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "/admin/",
    "/admin/sessions_app/callsession/",
    "/admin/sessions_app/callsession/add/",
    "/admin/sessions_app/callsession/live/",
    "/admin/sessions_app/app/",
    "/admin/sessions_app/appuser/",
    "/admin/sessions_app/authtoken/",
    "/admin/sessions_app/calltoken/",
    "/admin/sessions_app/participant/",
    "/admin/sessions_app/restriction/",
    "/admin/sessions_app/recording/",
]


@pytest.fixture
def staff(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("operator", "op@example.org", "pw-for-tests-only"))
    return client


@pytest.fixture
def live_call() -> tuple[CallSession, Participant]:
    session = CallSession.objects.create(title="Board <meeting>", status=SessionStatus.ONGOING)
    participant = Participant.objects.create(session=session, display_name="Ann <script>")
    return session, participant


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_render_for_staff(staff: Client, page: str, live_call: Any) -> None:
    assert staff.get(page).status_code == 200


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_refuse_anonymous_and_non_staff(client: Client, page: str) -> None:
    """Anonymous visitors and users without staff status are sent to the login page."""
    assert client.get(page).status_code == 302
    client.force_login(User.objects.create_user("visitor", password="pw-for-tests-only"))
    response = client.get(page)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_live_actions_refuse_non_staff(client: Client, live_call: tuple[CallSession, Participant]) -> None:
    session, participant = live_call
    client.force_login(User.objects.create_user("visitor", password="pw-for-tests-only"))
    for url in (
        f"/admin/sessions_app/callsession/live/participant/{participant.participant_id}/remove/",
        f"/admin/sessions_app/callsession/live/session/{session.session_id}/end/",
    ):
        assert client.post(url).status_code == 302
    session.refresh_from_db()
    assert session.status == SessionStatus.ONGOING


def test_live_page_lists_calls_in_progress_escaped(staff: Client, live_call: tuple[CallSession, Participant]) -> None:
    """The live page shows each call in progress and who is in it; names are escaped."""
    session, participant = live_call
    Participant.objects.create(session=session, display_name="Gone", left_at=session.created_at)
    page = staff.get("/admin/sessions_app/callsession/live/", headers={"HX-Request": "true"}).content.decode()
    assert f'data-participant-id="{participant.participant_id}"' in page
    assert "Ann &lt;script&gt;" in page and "<script>" not in page.split("live-messages")[1]
    assert "Gone" not in page
    assert f"/s/{session.session_id}/" in page
    full = staff.get("/admin/sessions_app/callsession/live/").content.decode()
    assert "htmx-2.min.js" in full and 'hx-trigger="every 2s"' in full


def test_live_page_shows_the_sfu_workers_and_who_hosts_each_call(
    staff: Client, live_call: tuple[CallSession, Participant]
) -> None:
    """With CALLS_SFU=workers, operators see each call's worker and every worker's load and liveness."""
    session, participant = live_call
    live = MediaWorker.objects.create(worker_id="media-1", channel_name="c1", rooms=1, participants=2)
    MediaWorker.objects.create(worker_id="media-2", channel_name="c2", last_seen=timezone.now() - timedelta(seconds=60))
    CallSession.objects.filter(pk=session.pk).update(media_worker=live)
    Participant.objects.filter(pk=participant.pk).update(is_presenting=True)
    page = staff.get("/admin/sessions_app/callsession/live/", headers={"HX-Request": "true"}).content.decode()
    assert "media on media-1" in page
    rows = {row.split('"')[0]: row for row in page.split('data-worker-id="')[1:]}
    assert "<td>live</td>" in rows["media-1"] and "<td>2</td>" in rows["media-1"]
    assert "not heard from" in rows["media-2"]
    assert "<td>sharing</td>" in page


def test_app_secrets_are_shown_once_and_never_again(staff: Client) -> None:
    """Creating an app in the admin shows its keys once; its pages show only prefixes."""
    response = staff.post("/admin/sessions_app/app/add/", {"name": "Acme", "region": "eu"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert any("API key:" in m for m in shown)
    api_key = shown[0].split("API key: ")[1].split()[0]
    app = App.objects.get(name="Acme")
    assert app.check_api_key(api_key)
    page = staff.get(f"/admin/sessions_app/app/{app.pk}/change/").content.decode()
    assert api_key not in page and app.api_key_prefix in page


def test_created_session_shows_its_share_link(staff: Client) -> None:
    response = staff.post(
        "/admin/sessions_app/callsession/add/", {
            "title": "Town hall",
            "session_type": "VIDEO",
            "allow_guests": "on",
            "participants-TOTAL_FORMS": "0",
            "participants-INITIAL_FORMS": "0",
        },
        follow=True,
    )  # fmt: skip
    session = CallSession.objects.get(title="Town hall")
    assert f"/s/{session.session_id}/" in response.content.decode()
    change = staff.get(f"/admin/sessions_app/callsession/{session.pk}/change/").content.decode()
    assert "data-copy-share-link" in change


def test_ending_from_the_admin_ends_the_call(staff: Client, live_call: tuple[CallSession, Participant]) -> None:
    session, _ = live_call
    url = f"/admin/sessions_app/callsession/live/session/{session.session_id}/end/"
    response = staff.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "ended for everyone" in response.content.decode()
    session.refresh_from_db()
    assert session.is_ended
    again = staff.post(url, headers={"HX-Request": "true"}).content.decode()
    assert "already ended" in again


def test_actions_on_ended_calls_or_gone_participants_say_so(
    staff: Client, live_call: tuple[CallSession, Participant], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acting on a participant of an ended call, or one who left, changes nothing and says why."""
    sent: list[tuple[str, ...]] = []
    monkeypatch.setattr("sessions_app.admin.live.moderate_as_operator", lambda *args: sent.append(args))
    session, participant = live_call
    url = f"/admin/sessions_app/callsession/live/participant/{participant.participant_id}/mute/"
    assert "was muted" in staff.post(url).content.decode()
    assert sent == [(session.session_id, participant.participant_id, errors.MODERATION_MUTE)]
    Participant.objects.filter(pk=participant.pk).update(left_at=session.created_at)
    assert "already left" in staff.post(url).content.decode()
    CallSession.objects.filter(pk=session.pk).update(status=SessionStatus.ENDED, end_reason="terminated")
    assert "already ended" in staff.post(url).content.decode()
    assert len(sent) == 1
    assert staff.post(url.replace("/mute/", "/explode/")).status_code == 403


def test_an_operators_mute_is_a_hold_it_can_lift(staff: Client, live_call: tuple[CallSession, Participant]) -> None:
    """Mute from the Live calls page holds the participant's audio; "Allow to speak" lifts the hold."""
    _, participant = live_call
    base = f"/admin/sessions_app/callsession/live/participant/{participant.participant_id}"
    page = staff.post(f"{base}/mute/", headers={"HX-Request": "true"}).content.decode()
    participant.refresh_from_db()
    assert participant.audio_muted and participant.audio_held
    assert "muted by a moderator" in page and 'data-action="allow_audio"' in page
    staff.post(f"{base}/allow_audio/")
    participant.refresh_from_db()
    assert participant.audio_muted and not participant.audio_held
    assert Restriction.objects.get(kind=RestrictionKind.AUDIO).lifted_at is not None


def test_an_operator_readmits_a_removed_participant(staff: Client, live_call: tuple[CallSession, Participant]) -> None:
    """A removal is listed under its call with a Readmit button, which lifts it."""
    session, participant = live_call
    Participant.objects.create(session=session, display_name="Bea")  # the call goes on without Ann
    base = "/admin/sessions_app/callsession/live"
    staff.post(f"{base}/participant/{participant.participant_id}/remove/")
    removal = Restriction.objects.get(session=session, kind=RestrictionKind.REMOVED)
    page = staff.get(f"{base}/", headers={"HX-Request": "true"}).content.decode()
    assert f'data-restriction-id="{removal.pk}"' in page and "Ann &lt;script&gt;" in page
    staff.post(f"{base}/readmit/{removal.pk}/")
    removal.refresh_from_db()
    assert removal.lifted_at is not None
    assert (
        f'data-restriction-id="{removal.pk}"'
        not in staff.get(f"{base}/", headers={"HX-Request": "true"}).content.decode()
    )


def test_session_settings_typed_into_the_admin_are_checked_like_the_apis(staff: Client) -> None:
    """A session saved from the admin gets the REST API's checks: bad options refused, good ones normalized."""
    form = {
        "title": "Standup",
        "session_type": "VIDEO",
        "allow_guests": "on",
        "settings": '{"layout": "spotlight"}',
        "locked_settings": '["layout"]',
        # The participants inline's management form (a new session has none).
        "participants-TOTAL_FORMS": "0",
        "participants-INITIAL_FORMS": "0",
    }
    refused = staff.post("/admin/sessions_app/callsession/add/", {**form, "settings": '{"layout": "DIAGONAL"}'})
    assert refused.status_code == 200 and "layout" in refused.content.decode()
    assert not CallSession.objects.exists()
    refused = staff.post("/admin/sessions_app/callsession/add/", {**form, "locked_settings": '["noSuchOption"]'})
    assert refused.status_code == 200 and not CallSession.objects.exists()
    saved = staff.post("/admin/sessions_app/callsession/add/", form)
    assert saved.status_code == 302, saved.context["adminform"].form.errors if saved.context else saved
    session = CallSession.objects.get()
    assert session.settings == {"layout": "SPOTLIGHT"} and session.locked_settings == ["layout"]


def test_a_sessions_recordings_and_their_tracks_are_listed_read_only(staff: Client) -> None:
    """A session's page lists its recordings; a recording's page shows each file: participant, source, size."""
    session = CallSession.objects.create(title="Recorded")
    tracks = [
        {"participantId": "p-ann", "source": "video", "path": "s/t/p-ann-video-1.webm", "codec": "vp8",
         "startOffsetMs": 0, "durationMs": 61_500, "sizeBytes": 2_500_000},
        {"participantId": "p-ann", "source": "audio", "path": "s/t/p-ann-audio-1.webm", "codec": "opus",
         "startOffsetMs": 0, "durationMs": 61_400, "sizeBytes": 250_000},
    ]  # fmt: skip
    recording = Recording.objects.create(session=session, directory="s/t", status="stopped", tracks=tracks)
    session_page = staff.get(f"/admin/sessions_app/callsession/{session.pk}/change/").content.decode()
    assert f"/admin/sessions_app/recording/{recording.pk}/change/" in session_page and "2.6\xa0MB" in session_page
    page = staff.get(f"/admin/sessions_app/recording/{recording.pk}/change/").content.decode()
    assert "p-ann-video-1.webm" in page and "61.5 s" in page and "2.4\xa0MB" in page and "opus" in page
    assert 'name="_save"' not in page


def test_a_recordings_composition_progress_and_player_are_shown_and_it_can_be_composed_again(
    staff: Client, settings: Any, tmp_path: Any
) -> None:
    """The list shows how far composing got; a composed recording's page plays it through a signed URL."""
    from sessions_app.models import CompositionJob, CompositionStatus
    from sessions_app.recording_files import UrlCheck, check_url

    settings.CALLS_RECORDINGS_DIR = str(tmp_path)
    session = CallSession.objects.create(title="Recorded")
    tracks = [{"participantId": "p", "source": "video", "path": "s/t/p-video-1.webm", "codec": "vp8"}]
    composing = Recording.objects.create(session=session, directory="s/t", status="stopped", tracks=tracks)
    CompositionJob.objects.create(recording=composing, status=CompositionStatus.COMPOSING, progress=0.42, attempts=1)
    failed = Recording.objects.create(session=session, directory="s/u", status="stopped", tracks=tracks)
    CompositionJob.objects.create(recording=failed, status=CompositionStatus.FAILED, attempts=3, last_error="no disk")
    done = Recording.objects.create(
        session=session, directory="s/v", status="stopped", tracks=tracks, composed_file="s/v/composed-1.webm",
        composed_duration_ms=61_000, composed_size_bytes=3_000_000,
    )  # fmt: skip
    CompositionJob.objects.create(recording=done, status=CompositionStatus.DONE, progress=1.0, attempts=1)

    listing = staff.get("/admin/sessions_app/recording/").content.decode()
    assert "composing 42% (attempt 1)" in listing
    assert "failed after 3 attempt(s): no disk" in listing
    assert "done: 61.0 s, 2.9\xa0MB" in listing
    page = staff.get(f"/admin/sessions_app/recording/{done.pk}/change/").content.decode()
    player = re.search(r'<video[^>]* src="([^"]+)"', page)
    assert player is not None
    src = urlsplit(html.unescape(player.group(1)))
    assert src.scheme == "http" and src.path == f"/api/v1/recordings/{done.rid}/file"
    query = {name: value for name, [value] in parse_qs(src.query).items()}
    assert check_url(done.rid, query["expires"], query["signature"]) is UrlCheck.VALID
    assert (
        "Shown once the recording is composed."
        in staff.get(f"/admin/sessions_app/recording/{failed.pk}/change/").content.decode()
    )

    staff.post(
        "/admin/sessions_app/recording/",
        {"action": "compose_again", "_selected_action": [failed.pk, composing.pk]},
    )
    assert CompositionJob.objects.get(recording=failed).status == CompositionStatus.QUEUED
    assert CompositionJob.objects.get(recording=composing).status == CompositionStatus.COMPOSING


def test_deleting_a_recording_in_the_admin_deletes_its_files(
    staff: Client, settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CALLS_RECORDINGS_DIR = str(tmp_path)
    folder = tmp_path / "s" / "t"
    folder.mkdir(parents=True)
    for name in ("p-video-1.webm", "composed-1.webm"):
        (folder / name).write_bytes(b"media")
    session = CallSession.objects.create(title="Recorded")
    tracks = [{"participantId": "p", "source": "video", "path": "s/t/p-video-1.webm", "codec": "vp8"}]
    recording = Recording.objects.create(
        session=session, directory="s/t", status="stopped", tracks=tracks, composed_file="s/t/composed-1.webm"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/admin/sessions_app/recording/{recording.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Recording.objects.exists()
    assert not (tmp_path / "s").exists()
