"""
The publishers' RTP from the socket to the forwarding table in one call (``compat.receive_from_socket``),
and ``eager.run_now``, which runs aiortc's packet handlers without a task.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc.mediastreams import AudioStreamTrack

from sessions_app.sfu import SFU, MediaConfig
from sessions_app.sfu.eager import run_now
from tests.media_client import MediaClient
from tests.synthetic import ReplayVideoTrack, encode_vp8_frames
from tests.test_sfu import connect, wait_until

pytestmark = pytest.mark.timeout(60)


async def test_run_now_finishes_a_coroutine_that_does_not_wait_before_returning() -> None:
    done: list[int] = []

    async def handler(value: int) -> None:
        done.append(value)

    run_now(handler(1))
    assert done == [1]


async def test_run_now_finishes_a_coroutine_that_waits_later_with_the_awaited_result() -> None:
    """A handler that does wait (a future not done yet) is finished by a task, with what it waited for."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    seen: list[object] = []

    async def handler() -> None:
        seen.append("before")
        seen.append(await future)
        await asyncio.sleep(0)
        seen.append("after")

    run_now(handler())
    assert seen == ["before"]
    future.set_result(7)
    await wait_until(lambda: seen == ["before", 7, "after"], timeout=2)


async def test_run_now_logs_a_failing_handler_and_carries_on(caplog: pytest.LogCaptureFixture) -> None:
    async def broken() -> None:
        raise RuntimeError("bad packet")

    run_now(broken())
    assert "a packet handler failed" in caplog.text


def sfu_transports(sfu: SFU, session_id: str, participant_id: str) -> list[Any]:
    peer = sfu.rooms[session_id].peers[participant_id]
    return list({t.receiver.transport for t in peer.pc.getTransceivers() if t.receiver.transport is not None})


@pytest.mark.parametrize("from_socket", [True, False])
async def test_a_publishers_rtp_skips_aiortcs_queue_exactly_when_asked(from_socket: bool) -> None:
    """
    With ``receive_from_socket`` every RTP packet of the publisher reaches its receiver without aiortc's
    queued path (``_handle_rtp_data`` is never called), while the video still reaches the subscriber
    whole; without it, aiortc's path takes them all.
    """
    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",), receive_from_socket=from_socket))
    video = ReplayVideoTrack(encode_vp8_frames(count=60))
    publisher = MediaClient("pub", {"audio": AudioStreamTrack(), "video": video})
    subscriber = MediaClient("sub", {}, record_encoded=True)
    queued: list[int] = []
    try:
        await connect(sfu, "room", "pub", publisher)
        await connect(sfu, "room", "sub", subscriber, kinds=())
        await subscriber.wait_for_tracks({("pub", "video"), ("pub", "audio")})
        [transport] = sfu_transports(sfu, "room", "pub")
        queued_path = transport._handle_rtp_data

        async def count_queued(data: bytes, arrival_time_ms: int) -> None:
            queued.append(len(data))
            await queued_path(data, arrival_time_ms)

        transport._handle_rtp_data = count_queued
        recorder = subscriber.recorder_for("pub", "video")
        received_before = transport._RTCDtlsTransport__rx_packets
        frames_before = len(recorder.frames)
        await wait_until(lambda: len(recorder.frames) >= frames_before + 20, timeout=20)
        assert transport._RTCDtlsTransport__rx_packets - received_before >= 20
        assert set(video.sent) >= set(recorder.frames[frames_before:])
        if from_socket:
            assert queued == []
        else:
            assert len(queued) >= 20
    finally:
        await publisher.close()
        await subscriber.close()
        await sfu.close_all()
