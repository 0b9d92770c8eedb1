"""services/presence.py: who is in a call and what each has on, recorded, applied to media and announced."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from sessions_app import errors
from sessions_app.errors import CallsError
from sessions_app.models import Participant, SessionStatus
from sessions_app.services import admission, presence
from sessions_app.services.broadcast import MediaState
from tests.service_fakes import RecordingMedia, no_signal, request, until_heard
from tests.test_consumer import guest_token, new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


async def joined(recording_media: RecordingMedia, **session_fields: Any) -> tuple[str, str]:
    session = await new_session(**session_fields)
    admitted = await admission.join(session, request(await guest_token(session.session_id)), no_signal)
    recording_media.calls.clear()
    return session.session_id, admitted.participant.participant_id


def participant(participant_id: str) -> Any:
    return database_sync_to_async(Participant.objects.select_related("session").get)(participant_id=participant_id)


async def test_a_media_change_reaches_the_sfu_the_record_and_everyone_else(
    recording_media: RecordingMedia, bus: Any
) -> None:
    heard, listen = bus
    session_id, pid = await joined(recording_media)
    await listen(session_id)
    state: MediaState = {"audio_muted": True, "video_paused": False, "audio_held": False, "video_held": False}
    await presence.change_media(session_id, pid, state, sender="ann's socket")
    assert recording_media.calls == [("forward", pid, "audio", False), ("forward", pid, "video", True)]
    assert (await participant(pid)).audio_muted
    announced = await until_heard(heard, "call.media")
    assert announced["participant_id"] == pid and announced["audio_muted"] is True
    assert announced["sender"] == "ann's socket"  # not echoed to the socket that made the change


async def test_a_hand_keeps_its_place_in_the_queue_and_is_announced_to_everyone(
    recording_media: RecordingMedia, bus: Any
) -> None:
    heard, listen = bus
    session_id, pid = await joined(recording_media)
    await listen(session_id)
    await presence.raise_hand(session_id, pid, True)
    first = await until_heard(heard, "call.hand")
    assert first["participant_id"] == pid and first["raised_at_ms"] > 0 and first["sender"] == ""
    heard.clear()
    await presence.raise_hand(session_id, pid, True)
    assert (await until_heard(heard, "call.hand"))["raised_at_ms"] == first["raised_at_ms"]
    heard.clear()
    await presence.raise_hand(session_id, pid, False)
    assert (await until_heard(heard, "call.hand"))["raised_at_ms"] == 0
    assert (await participant(pid)).hand_raised_at is None


async def test_sharing_a_screen_needs_a_media_connection(recording_media: RecordingMedia, bus: Any) -> None:
    heard, listen = bus
    session_id, pid = await joined(recording_media)
    await listen(session_id)
    await presence.share_screen(session_id, pid, True)
    assert recording_media.calls == [("screen", pid, True)]
    assert (await participant(pid)).is_presenting
    assert (await until_heard(heard, "call.screen_share"))["enabled"] is True
    recording_media.gone.add(pid)
    with pytest.raises(CallsError) as refused:
        await presence.share_screen(session_id, pid, False)
    assert refused.value.code == errors.ERR_CALL_NOT_A_PART
    assert (await participant(pid)).is_presenting  # nothing recorded for a refused change


async def test_the_last_leave_ends_the_meeting_and_a_second_leave_records_nothing(
    recording_media: RecordingMedia,
) -> None:
    _, pid = await joined(recording_media)
    assert await presence.mark_left(pid, errors.LEAVE_REASON_LEFT)
    assert not await presence.mark_left(pid, errors.LEAVE_REASON_DISCONNECTED)
    left = await participant(pid)
    assert left.leave_reason == errors.LEAVE_REASON_LEFT and left.session.status == SessionStatus.ENDED
