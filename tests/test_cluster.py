"""
Scale-out bookkeeping (CALLS_SFU=workers), without browsers: where sessions are placed, when
workers and Daphne processes count as dead, and the worker's channel-layer loop driving a real SFU.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import InMemoryChannelLayer
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from sessions_app import errors
from sessions_app.cluster import placement, processes
from sessions_app.cluster.remote import RemoteSFU
from sessions_app.cluster.worker import SFUWorker
from sessions_app.models import CallSession, MediaWorker, Participant, SignalingProcess
from sessions_app.sfu import (
    SFU,
    AlreadyRecording,
    MediaConfig,
    MediaEvent,
    NegotiationFailed,
    NotRecording,
    Offer,
    RecordedTrack,
    UnknownSession,
)
from sessions_app.sfu.frames import TappedFrame
from sessions_app.signaling import protocol

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def worker(name: str, participants: int = 0, rooms: int = 0, seen_ago_s: float = 0.0) -> MediaWorker:
    return MediaWorker.objects.create(
        worker_id=name,
        channel_name=f"channel-{name}",
        participants=participants,
        rooms=rooms,
        last_seen=timezone.now() - timedelta(seconds=seen_ago_s),
    )


def place(session_id: str) -> placement.Host:
    return placement.host_session.func(session_id)  # type: ignore[attr-defined]


def test_a_session_goes_to_the_least_loaded_live_worker_and_stays() -> None:
    busy, idle = worker("busy", participants=9, rooms=3), worker("idle", participants=1, rooms=1)
    worker("dead", seen_ago_s=60)
    session = CallSession.objects.create()
    assert place(session.session_id) == placement.Host(idle.pk, idle.channel_name)
    MediaWorker.objects.filter(pk=idle.pk).update(participants=50)  # busier now, but the call stays
    assert place(session.session_id).worker_pk == idle.pk
    session.refresh_from_db()
    assert session.media_worker_id == idle.pk
    assert busy.sessions.count() == 0


def test_sessions_starting_together_spread_over_workers() -> None:
    """A placement counts itself on its worker at once: the heartbeat need not come first."""
    first, second = worker("first"), worker("second")
    hosts = {place(CallSession.objects.create().session_id).worker_pk for _ in range(2)}
    assert hosts == {first.pk, second.pk}


def test_a_dead_or_stopped_workers_session_moves_to_a_live_one() -> None:
    old, new = worker("old"), worker("new", participants=5)
    session = CallSession.objects.create()
    assert place(session.session_id).worker_pk == old.pk
    MediaWorker.objects.filter(pk=old.pk).update(last_seen=timezone.now() - timedelta(seconds=60))
    assert placement.moved_sessions.func({session.session_id: old.pk}) == [session.session_id]  # type: ignore[attr-defined]
    assert place(session.session_id).worker_pk == new.pk
    newer = worker("newer")
    MediaWorker.objects.filter(pk=new.pk).update(stopped_at=timezone.now())
    assert place(session.session_id).worker_pk == newer.pk


def test_a_session_moved_by_another_process_counts_as_moved() -> None:
    first, second = worker("first"), worker("second")
    session = CallSession.objects.create(media_worker=second)
    assert placement.moved_sessions.func({session.session_id: first.pk}) == [session.session_id]  # type: ignore[attr-defined]
    assert placement.moved_sessions.func({session.session_id: second.pk}) == []  # type: ignore[attr-defined]


def test_no_live_worker_means_no_placement() -> None:
    worker("dead", seen_ago_s=60)
    session = CallSession.objects.create()
    with pytest.raises(placement.NoMediaWorker):
        place(session.session_id)


def test_participants_of_a_dead_process_are_orphans_until_closed() -> None:
    session = CallSession.objects.create(media_worker=worker("w"))
    SignalingProcess.objects.create(process_id="alive")
    SignalingProcess.objects.create(process_id="dead", last_seen=timezone.now() - timedelta(seconds=60))
    mine = Participant.objects.create(session=session, display_name="Ann", served_by="alive")
    theirs = Participant.objects.create(session=session, display_name="Bob", served_by="dead")
    orphans = processes.orphans.func()  # type: ignore[attr-defined]
    assert orphans == [processes.Orphan(session.session_id, theirs.participant_id, "channel-w")]
    Participant.objects.filter(pk=theirs.pk).update(left_at=timezone.now())
    assert processes.orphans.func() == []  # type: ignore[attr-defined]
    assert list(SignalingProcess.objects.values_list("process_id", flat=True)) == ["alive"]  # forgotten
    assert Participant.objects.get(pk=mine.pk).left_at is None


def test_the_sfu_worker_needs_redis(settings: Any) -> None:
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("runsfu")


async def test_a_worker_serves_a_daphne_process_over_the_channel_layer(settings: Any) -> None:
    """RemoteSFU → channel layer → SFUWorker → a real SFU, and its signals back to the participant."""
    settings.CALLS_HEARTBEAT_TIMEOUT_S = 30
    layer = InMemoryChannelLayer()
    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",)))
    stop = asyncio.Event()
    media_worker = SFUWorker(sfu, layer, "test-worker")
    serving = asyncio.ensure_future(media_worker.run(stop))

    async def nothing(*args: object) -> None:
        return None

    remote = RemoteSFU(layer, nothing, nothing)
    try:
        while not await sync_to_async(MediaWorker.objects.filter(worker_id="test-worker").exists)():
            await asyncio.sleep(0.05)
        session = await sync_to_async(CallSession.objects.create)()
        heard: asyncio.Queue[MediaEvent] = asyncio.Queue()
        await remote.join(session.session_id, "ann", heard.put)
        offer = await asyncio.wait_for(heard.get(), 10)
        assert isinstance(offer, Offer) and "m=video" in offer.sdp
        assert sfu.stats() == {"rooms": 1, "participants": 1}
        await remote.handle_answer(session.session_id, "ann", "v=0 not an answer")
        error = await asyncio.wait_for(heard.get(), 10)
        assert isinstance(error, NegotiationFailed)
        assert protocol.media_event_message(error)["code"] == errors.ERROR_MEDIA_NEGOTIATION
        await remote.leave(session.session_id, "ann")
        for _ in range(100):
            if not sfu.rooms:
                break
            await asyncio.sleep(0.05)
        assert sfu.stats() == {"rooms": 0, "participants": 0}
    finally:
        await remote.close_all()
        stop.set()
        await asyncio.wait_for(serving, 10)
    stopped = await sync_to_async(MediaWorker.objects.get)(worker_id="test-worker")
    assert stopped.stopped_at is not None  # its sessions move at once, without waiting for the timeout


async def test_recording_commands_reach_the_worker_and_its_answers_come_back(settings: Any, tmp_path: Any) -> None:
    """start/stop_recording cross the channel layer; the worker's files and its errors come back to the caller."""
    settings.CALLS_HEARTBEAT_TIMEOUT_S = 30
    layer = InMemoryChannelLayer()
    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",)))
    stop = asyncio.Event()
    serving = asyncio.ensure_future(SFUWorker(sfu, layer, "recording-worker").run(stop))

    async def nothing(*args: object) -> None:
        return None

    remote = RemoteSFU(layer, nothing, nothing)
    try:
        while not await sync_to_async(MediaWorker.objects.filter(worker_id="recording-worker").exists)():
            await asyncio.sleep(0.05)
        session = await sync_to_async(CallSession.objects.create)()
        unhosted = await sync_to_async(CallSession.objects.create)()
        with pytest.raises(UnknownSession):
            await remote.start_recording(unhosted.session_id, str(tmp_path))
        heard: asyncio.Queue[MediaEvent] = asyncio.Queue()
        await remote.join(session.session_id, "ann", heard.put, ("audio",))
        await remote.start_recording(session.session_id, str(tmp_path))
        assert sfu.rooms[session.session_id].recording is not None, "the worker records"
        with pytest.raises(AlreadyRecording):
            await remote.start_recording(session.session_id, str(tmp_path))
        # No browser here: one 20 ms Opus packet as if Ann's microphone had sent it.
        published = sfu.rooms[session.session_id].peers["ann"].published["audio"]
        published.on_frame(TappedFrame((bytes([0xF8, 0xFF, 0xFE]),), 0))
        [recorded] = await remote.stop_recording(session.session_id)
        assert recorded == RecordedTrack(
            participant_id="ann",
            source="audio",
            path=str(tmp_path / "ann-audio-1.webm"),
            codec="opus",
            start_offset_ms=recorded.start_offset_ms,
            duration_ms=20,
            frame_count=1,
            size_bytes=(tmp_path / "ann-audio-1.webm").stat().st_size,
        )
        with pytest.raises(NotRecording):
            await remote.stop_recording(session.session_id)
        # A session that was never hosted anywhere has no recording to stop.
        with pytest.raises(NotRecording):
            await remote.stop_recording(unhosted.session_id)
    finally:
        await remote.close_all()
        stop.set()
        await asyncio.wait_for(serving, 10)
