"""services/admission.py: who may join a call, with what, and the join itself, without a socket."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from channels.db import database_sync_to_async

from sessions_app import errors
from sessions_app.errors import CallsError
from sessions_app.models import App, AppUser, CallSession, Participant, SessionType
from sessions_app.services import admission
from sessions_app.tokens import call_tokens
from tests.service_fakes import RecordingMedia, no_signal, request, until_heard
from tests.test_consumer import guest_token, new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


async def test_a_join_is_recorded_announced_and_given_its_media(recording_media: RecordingMedia, bus: Any) -> None:
    heard, listen = bus
    session = await new_session(session_type=SessionType.VOICE)
    await listen(session.session_id)
    admitted = await admission.join(session, request(await guest_token(session.session_id)), no_signal, sender="me")
    participant = admitted.participant
    assert participant.display_name == "Ann" and participant.is_present
    assert participant.video_paused  # a voice call has no camera
    assert admitted.identity.is_guest and admitted.settings["sessionType"] == "VOICE"
    pid = participant.participant_id
    assert recording_media.calls == [
        ("reserve", session.session_id),
        ("join", pid, ("audio",)),
        ("forward", pid, "audio", True),
        ("forward", pid, "video", False),
    ]
    announced = await until_heard(heard, "call.participant_joined")
    assert announced["participant"] == participant.as_wire() and announced["sender"] == "me"


async def test_a_locked_start_muted_holds_whatever_the_client_asks(recording_media: RecordingMedia) -> None:
    session = await new_session(settings={"startAudioMuted": True}, locked_settings=["startAudioMuted"])
    admitted = await admission.join(session, request(await guest_token(session.session_id)), no_signal)
    assert admitted.participant.audio_muted and admitted.locked == ["startAudioMuted"]
    assert ("forward", admitted.participant.participant_id, "audio", False) in recording_media.calls


async def test_the_same_token_joining_again_replaces_the_first_join(recording_media: RecordingMedia, bus: Any) -> None:
    heard, listen = bus
    session = await new_session()
    await listen(session.session_id)
    token = await guest_token(session.session_id)
    first = await admission.join(session, request(token), no_signal)
    second = await admission.join(session, request(token), no_signal)
    first_id = first.participant.participant_id
    assert ("leave", first_id) in recording_media.calls
    evicted = await until_heard(heard, "call.evicted")
    assert evicted["target"] == first_id and evicted["reason"] == errors.LEAVE_REASON_REPLACED
    assert [other.participant_id for other in second.others] == []
    left = await database_sync_to_async(Participant.objects.get)(participant_id=first_id)
    assert left.leave_reason == errors.LEAVE_REASON_REPLACED


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("bad token", errors.ERROR_CALL_TOKEN),
        ("guest on a members-only call", errors.ERR_GUESTS_NOT_ALLOWED),
        ("no media server", errors.ERR_MEDIA_SERVER_UNAVAILABLE),
        ("full", errors.ERR_CALL_FULL),
    ],
)
async def test_refusals_carry_their_code_and_record_nothing(
    recording_media: RecordingMedia, case: str, code: str
) -> None:
    session = await new_session(max_participants=1)
    token = await guest_token(session.session_id)
    if case == "full":
        await admission.join(session, request(await guest_token(session.session_id)), no_signal)
    elif case == "bad token":
        token = token[:-4] + "AAAA"
    elif case == "guest on a members-only call":
        session.allow_guests = False
    elif case == "no media server":
        recording_media.unavailable = True
    present_before = await database_sync_to_async(Participant.objects.filter(left_at__isnull=True).count)()
    recording_media.calls.clear()
    with pytest.raises(CallsError) as refused:
        await admission.join(session, request(token), no_signal)
    assert refused.value.code == code
    assert await database_sync_to_async(Participant.objects.filter(left_at__isnull=True).count)() == present_before
    assert not [call for call in recording_media.calls if call[0] != "reserve"]


async def test_a_guest_token_minted_before_the_call_went_members_only_admits_no_one(
    recording_media: RecordingMedia,
) -> None:
    session = await new_session(allow_guests=True)
    token = await guest_token(session.session_id)
    await database_sync_to_async(CallSession.objects.filter(pk=session.pk).update)(allow_guests=False)
    session = await database_sync_to_async(CallSession.objects.get)(pk=session.pk)
    with pytest.raises(CallsError) as refused:
        await admission.join(session, request(token), no_signal)
    assert refused.value.code == errors.ERR_GUESTS_NOT_ALLOWED


async def test_a_join_whose_media_fails_once_recorded_is_let_go(recording_media: RecordingMedia, bus: Any) -> None:
    """Nobody else would ever record it as gone: no socket serves it yet."""
    heard, listen = bus
    session = await new_session()
    await listen(session.session_id)
    recording_media.failing = True
    with pytest.raises(RuntimeError):
        await admission.join(session, request(await guest_token(session.session_id)), no_signal)
    joined = await until_heard(heard, "call.participant_joined")
    left = await until_heard(heard, "call.participant_left")
    assert left["participant_id"] == joined["participant"]["pid"]
    assert left["reason"] == errors.LEAVE_REASON_DISCONNECTED
    still_present = database_sync_to_async(Participant.objects.filter(left_at__isnull=True).count)
    assert await still_present() == 0


async def test_a_users_avatar_rides_with_the_participant_and_the_token_names_the_session_type(
    recording_media: RecordingMedia,
) -> None:
    """The SDK shows the user's picture, and reads the session type from the token before opening devices."""

    @database_sync_to_async
    def user_token() -> tuple[CallSession, str]:
        app = App.create_with_keys("Acme")[0]
        user = AppUser.objects.create(app=app, uid="ann", name="Ann", avatar="https://img.example/ann.png")
        session = CallSession.objects.create(app=app, session_type=SessionType.VOICE)
        return session, call_tokens.issue(session, user, "Ann")[0]

    session, token = await user_token()
    assert jwt.decode(token, options={"verify_signature": False})["sessionType"] == "VOICE"
    admitted = await admission.join(session, request(token), no_signal)
    assert admitted.participant.as_wire()["avatar"] == "https://img.example/ann.png"
    guest = await admission.join(session, request(await guest_token(session.session_id)), no_signal)
    assert guest.participant.as_wire()["avatar"] == ""
    assert [other.as_wire()["avatar"] for other in guest.others] == ["https://img.example/ann.png"]
