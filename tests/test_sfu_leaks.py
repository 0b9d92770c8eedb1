"""Join/leave churn leaves no peer connection, task or thread behind."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from sessions_app.sfu import SFU, MediaConfig
from tests.media_client import MediaClient
from tests.test_sfu import connect, wait_until

pytestmark = pytest.mark.timeout(180)

CYCLES = 30


def task_label(task: asyncio.Task[Any]) -> str:
    return task.get_coro().__qualname__


def media_threads() -> set[str]:
    """Threads other than the event loop's bounded executor pool (which aiortc's client encoders use)."""
    return {t.name for t in threading.enumerate() if not t.name.startswith(("ThreadPoolExecutor", "asyncio_"))}


async def test_thirty_join_leave_cycles_release_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """After 30 join/leave cycles beside a resident participant, the SFU holds only that participant."""
    created: list[weakref.ref[RTCPeerConnection]] = []
    original_init = RTCPeerConnection.__init__

    def tracking_init(self: RTCPeerConnection, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        created.append(weakref.ref(self))

    monkeypatch.setattr(RTCPeerConnection, "__init__", tracking_init)
    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",)))
    resident = MediaClient("resident", {"audio": AudioStreamTrack(), "video": VideoStreamTrack()}, record_encoded=True)
    await connect(sfu, "room", "resident", resident)
    room = sfu.rooms["room"]
    await wait_until(lambda: room.peers["resident"].connection_state == "connected")

    async def cycle(pid: str) -> None:
        visitor = MediaClient(pid, {"audio": AudioStreamTrack(), "video": VideoStreamTrack()}, record_encoded=True)
        await connect(sfu, "room", pid, visitor)
        await visitor.wait_for_tracks({("resident", "audio"), ("resident", "video")})
        await resident.wait_for_tracks({(pid, "audio"), (pid, "video")})
        visitor_peer = room.peers[pid]
        await wait_until(lambda: visitor_peer.connection_state == "connected" and not visitor_peer._awaiting_answer)
        await sfu.leave("room", pid)
        await visitor.close()
        await wait_until(lambda: not room.peers["resident"]._awaiting_answer)

    # One warm-up visit leaves the resident with its steady state: one idle transceiver pair.
    await cycle("warm-up")
    threads_before = media_threads()
    tasks_before = sorted(task_label(t) for t in asyncio.all_tasks())

    for index in range(CYCLES):
        await cycle(f"visitor-{index}")

    await wait_until(lambda: room.peers["resident"]._awaiting_answer is False, timeout=10)
    assert list(room.peers) == ["resident"]
    resident_peer = room.peers["resident"]
    # Transceivers are reused: at most one idle pair plus nothing else.
    assert len(resident_peer.subscriptions) <= 2
    assert all(s.track.source is None for s in resident_peer.subscriptions)
    assert room.peers["resident"].published["video"].subscribers == []

    try:
        await wait_until(lambda: media_threads() <= threads_before, timeout=10)
    except AssertionError:
        raise AssertionError(f"threads left behind: {sorted(media_threads() - threads_before)}") from None
    await wait_until(lambda: sorted(task_label(t) for t in asyncio.all_tasks()) == tasks_before, timeout=10)
    gc.collect()
    alive = [ref() for ref in created if ref() is not None]
    server_alive = [pc for pc in alive if pc is not resident.pc and pc is not resident_peer.pc]
    open_server_pcs = [pc for pc in server_alive if pc.connectionState != "closed"]
    assert open_server_pcs == []

    await sfu.close_all()
    await resident.close()
    assert sfu.rooms == {}
