"""services/departures.py: a participant leaves for good once, is announced once, and its media is freed."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from sessions_app import errors
from sessions_app.cluster.processes import Orphan
from sessions_app.models import Participant
from sessions_app.services import admission, departures
from tests.service_fakes import RecordingMedia, no_signal, request, until_heard
from tests.test_consumer import guest_token, new_session

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]


async def two_joined(recording_media: RecordingMedia) -> tuple[str, str, str]:
    session = await new_session()
    ids = []
    for _ in range(2):
        admitted = await admission.join(session, request(await guest_token(session.session_id)), no_signal)
        ids.append(admitted.participant.participant_id)
    recording_media.calls.clear()
    return session.session_id, ids[0], ids[1]


def leave_reason(participant_id: str) -> Any:
    return database_sync_to_async(lambda: Participant.objects.get(participant_id=participant_id).leave_reason)()


async def test_a_leave_frees_the_media_is_recorded_and_announced_once(
    recording_media: RecordingMedia, bus: Any
) -> None:
    heard, listen = bus
    session_id, ann, _ = await two_joined(recording_media)
    await listen(session_id)
    await departures.leave_call(session_id, ann, errors.LEAVE_REASON_LEFT)
    await departures.leave_call(session_id, ann, errors.LEAVE_REASON_DISCONNECTED)  # a late second leave
    assert recording_media.calls == [("leave", ann), ("leave", ann)]  # freeing media twice is harmless
    assert await leave_reason(ann) == errors.LEAVE_REASON_LEFT
    left = await until_heard(heard, "call.participant_left")
    assert left["participant_id"] == ann and left["reason"] == errors.LEAVE_REASON_LEFT
    assert [event["type"] for event in heard].count("call.participant_left") == 1


async def test_an_eviction_tells_the_target_s_socket_and_everyone(recording_media: RecordingMedia, bus: Any) -> None:
    heard, listen = bus
    session_id, ann, _ = await two_joined(recording_media)
    await listen(session_id)
    await departures.evict(session_id, ann, errors.LEAVE_REASON_REMOVED)
    evicted = await until_heard(heard, "call.evicted")
    assert evicted["target"] == ann and evicted["reason"] == errors.LEAVE_REASON_REMOVED
    assert (await until_heard(heard, "call.participant_left"))["participant_id"] == ann
    assert await leave_reason(ann) == errors.LEAVE_REASON_REMOVED
    assert recording_media.calls == []  # the target's own socket frees its media (it may be elsewhere)


async def test_orphans_are_closed_by_one_process_only(recording_media: RecordingMedia, bus: Any) -> None:
    heard, listen = bus
    session_id, ann, bob = await two_joined(recording_media)
    await listen(session_id)
    orphans = [Orphan(session_id, ann, "worker-1"), Orphan(session_id, bob, "worker-1")]
    assert await departures.close_orphans(orphans) == orphans
    assert await departures.close_orphans(orphans) == []  # another process got there first
    assert await leave_reason(ann) == await leave_reason(bob) == errors.LEAVE_REASON_DISCONNECTED
    await until_heard(heard, "call.participant_left")
    assert [event["type"] for event in heard].count("call.participant_left") == 2
