"""services/recording.py, and the ``recording`` message over the signaling websocket."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async

from sessions_app import errors
from sessions_app.errors import CallsError
from sessions_app.models import CallSession, Participant, Recording, RecordingStatus
from sessions_app.services import admission, departures, recording
from sessions_app.sfu import RecordedTrack
from tests.service_fakes import RecordingMedia, no_signal, request, until_heard
from tests.test_consumer import guest_token, join, new_session, receive_type
from tests.test_moderation import open_socket, sfu_cleanup  # noqa: F401 (the fixture closes the sockets)
from tests.test_sfu import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
def recordings_dir(settings: Any, tmp_path: Path) -> Path:
    settings.CALLS_RECORDINGS_DIR = str(tmp_path)
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
    return tmp_path


@database_sync_to_async
def recordings_of(session_id: str) -> list[Recording]:
    return list(Recording.objects.filter(session__session_id=session_id).order_by("started_at"))


async def joined(session_id: str) -> admission.Admitted:
    session = await database_sync_to_async(CallSession.objects.get)(session_id=session_id)
    return await admission.join(session, request(await guest_token(session_id)), no_signal)


# The service, with a stand-in MediaService.


async def test_a_start_records_into_its_own_folder_and_tells_everyone(
    recording_media: RecordingMedia, bus: Any, recordings_dir: Path
) -> None:
    heard, listen = bus
    session = await new_session()
    await listen(session.session_id)
    await recording.start(session.session_id, "host-pid", "host-uid")
    [(_, _, directory)] = [call for call in recording_media.calls if call[0] == "start_recording"]
    [row] = await recordings_of(session.session_id)
    assert directory == str(recordings_dir / row.directory)
    assert row.directory.startswith(session.session_id + os.sep)
    assert (row.started_by, row.started_by_uid, row.status) == ("host-pid", "host-uid", RecordingStatus.RECORDING)
    assert await recording.is_recording(session.session_id)
    announced = await until_heard(heard, "call.recording")
    assert (announced["recording"], announced["by"]) == (True, "host-pid")


async def test_starting_twice_is_refused_with_err_bad_request(recording_media: RecordingMedia) -> None:
    session = await new_session()
    await recording.start(session.session_id, "host-pid")
    with pytest.raises(CallsError) as refused:
        await recording.start(session.session_id, "host-pid")
    assert refused.value.code == errors.ERR_BAD_REQUEST and "already" in refused.value.message
    assert len(await recordings_of(session.session_id)) == 1


async def test_stopping_what_is_not_recorded_is_refused_with_err_bad_request(recording_media: RecordingMedia) -> None:
    session = await new_session()
    with pytest.raises(CallsError) as refused:
        await recording.stop(session.session_id, "host-pid")
    assert refused.value.code == errors.ERR_BAD_REQUEST and "not being recorded" in refused.value.message


async def test_a_stop_saves_the_files_relative_to_the_recordings_dir_and_tells_everyone(
    recording_media: RecordingMedia, bus: Any, recordings_dir: Path
) -> None:
    heard, listen = bus
    session = await new_session()
    await listen(session.session_id)
    await recording.start(session.session_id, "host-pid")
    directory = recording_media.recording[session.session_id]
    recording_media.recorded = [
        RecordedTrack("ann", "video", os.path.join(directory, "ann-video-1.webm"), "vp8", 120, 5000, 150, 400_000),
        RecordedTrack("ann", "audio", os.path.join(directory, "ann-audio-1.webm"), "opus", 0, 5100, 255, 40_000),
    ]
    await recording.stop(session.session_id, "host-pid")
    [row] = await recordings_of(session.session_id)
    assert row.status == RecordingStatus.STOPPED and row.ended_at is not None
    assert [(t["participantId"], t["source"], t["codec"], t["durationMs"], t["sizeBytes"]) for t in row.tracks] == [
        ("ann", "video", "vp8", 5000, 400_000),
        ("ann", "audio", "opus", 5100, 40_000),
    ]
    assert row.tracks[0]["path"] == os.path.join(row.directory, "ann-video-1.webm")
    assert row.tracks[0]["startOffsetMs"] == 120 and row.size_bytes == 440_000
    assert not await recording.is_recording(session.session_id)
    changes = lambda: [(event["recording"], event["by"]) for event in heard if event["type"] == "call.recording"]  # noqa: E731
    await wait_until(lambda: len(changes()) == 2)
    assert changes() == [
        (True, "host-pid"),
        (False, "host-pid"),
    ]


async def test_a_directory_the_sfu_cannot_write_is_err_recording_failed(recording_media: RecordingMedia) -> None:
    from sessions_app.sfu import RecordingError

    async def cannot(session_id: str, directory: str) -> None:
        raise RecordingError("read-only")

    recording_media.start_recording = cannot  # type: ignore[method-assign]
    session = await new_session()
    with pytest.raises(CallsError) as refused:
        await recording.start(session.session_id, "host-pid")
    assert refused.value.code == errors.ERR_RECORDING_FAILED
    assert await recordings_of(session.session_id) == []


async def test_auto_start_recording_starts_with_the_first_join_and_late_joiners_are_told(
    recording_media: RecordingMedia,
) -> None:
    session = await new_session(settings={"autoStartRecording": True})
    first = await joined(session.session_id)
    assert first.recording
    [row] = await recordings_of(session.session_id)
    assert row.started_by == recording.BY_THE_CALL
    second = await joined(session.session_id)
    assert second.recording
    assert len([call for call in recording_media.calls if call[0] == "start_recording"]) == 1


async def test_an_auto_start_that_fails_does_not_fail_the_join(recording_media: RecordingMedia) -> None:
    """autoStartRecording into a directory the SFU cannot write: the join goes on, unrecorded."""
    from sessions_app.sfu import RecordingError

    async def cannot(session_id: str, directory: str) -> None:
        raise RecordingError("read-only")

    recording_media.start_recording = cannot  # type: ignore[method-assign]
    session = await new_session(settings={"autoStartRecording": True})
    admitted = await joined(session.session_id)
    assert admitted.participant.is_present and not admitted.recording


async def test_a_call_without_auto_start_is_not_recorded(recording_media: RecordingMedia) -> None:
    session = await new_session()
    assert not (await joined(session.session_id)).recording
    assert await recordings_of(session.session_id) == []


async def test_the_last_participant_leaving_stops_the_recording_and_saves_its_files(
    recording_media: RecordingMedia,
) -> None:
    session = await new_session()
    ann, bob = await joined(session.session_id), await joined(session.session_id)
    await recording.start(session.session_id, ann.participant.participant_id)
    directory = recording_media.recording[session.session_id]
    recording_media.recorded = [
        RecordedTrack("bob", "audio", os.path.join(directory, "b.webm"), "opus", 0, 900, 45, 9000)
    ]
    await departures.leave_call(session.session_id, ann.participant.participant_id, errors.LEAVE_REASON_LEFT)
    assert await recording.is_recording(session.session_id)  # Bob is still in the call
    await departures.leave_call(session.session_id, bob.participant.participant_id, errors.LEAVE_REASON_LEFT)
    [row] = await recordings_of(session.session_id)
    assert row.status == RecordingStatus.STOPPED and [t["participantId"] for t in row.tracks] == ["bob"]


# Over the websocket, with the real SFU.


async def test_a_guest_cannot_start_recording() -> None:
    """A participant's recording message is refused with AUTH_ERR_NO_ACCESS, reason role; nothing records."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    await join(guest, "Guest", session.session_id)
    await guest.send_json_to({"type": "recording", "action": "start"})
    refused = await receive_type(guest, "error")
    assert (refused["code"], refused["details"]) == (errors.AUTH_ERR_NO_ACCESS, {"reason": "role"})
    assert await recordings_of(session.session_id) == []


async def test_a_locked_hidden_record_button_forbids_recording_to_moderators() -> None:
    """hideRecordingButton locked to true: a moderator's start is refused (AUTH_ERR_NO_ACCESS, reason locked)."""
    session = await new_session(settings={"hideRecordingButton": True}, locked_settings=["hideRecordingButton"])
    host = await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    await host.send_json_to({"type": "recording", "action": "start"})
    refused = await receive_type(host, "error")
    assert (refused["code"], refused["details"]) == (errors.AUTH_ERR_NO_ACCESS, {"reason": "locked"})


async def test_a_bad_recording_action_is_a_json_exception() -> None:
    session = await new_session()
    host = await open_socket(session.session_id)
    await join(host, "Host", session.session_id, role="moderator")
    await host.send_json_to({"type": "recording", "action": "pause"})
    refused = await receive_type(host, "error")
    assert (refused["code"], refused["details"]["field"]) == (errors.ERROR_JSON_EXCEPTION, "action")


async def test_a_moderator_records_everyone_hears_and_a_late_joiner_sees_it(recordings_dir: Path) -> None:
    """Start and stop reach everyone with who did it; joined says recording; twice is ERR_BAD_REQUEST."""
    session = await new_session()
    host, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    host_id = (await join(host, "Host", session.session_id, role="moderator"))["participantId"]
    assert (await join(guest, "Guest", session.session_id))["recording"] is False
    await host.send_json_to({"type": "recording", "action": "start"})
    for socket in (host, guest):
        assert await receive_type(socket, "recording") == {"type": "recording", "recording": True, "by": host_id}
    late = await open_socket(session.session_id)
    assert (await join(late, "Late", session.session_id))["recording"] is True
    await host.send_json_to({"type": "recording", "action": "start"})
    assert (await receive_type(host, "error"))["code"] == errors.ERR_BAD_REQUEST
    await host.send_json_to({"type": "recording", "action": "stop"})
    for socket in (host, guest, late):
        assert await receive_type(socket, "recording") == {"type": "recording", "recording": False, "by": host_id}
    [row] = await recordings_of(session.session_id)
    assert row.status == RecordingStatus.STOPPED and (recordings_dir / row.directory).is_dir()
    present = Participant.objects.filter(session__session_id=session.session_id, left_at__isnull=True)
    assert await database_sync_to_async(present.count)() == 3
