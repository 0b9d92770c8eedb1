"""SFU integration tests with real aiortc peer connections over loopback."""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

import pytest
from aiortc import rtcrtpreceiver
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from sessions_app.sfu import SFU, MediaConfig, MediaEvent, Offer
from sessions_app.signaling import protocol
from tests.media_client import MediaClient
from tests.synthetic import ReplayVideoTrack, encode_vp8_frames

pytestmark = pytest.mark.timeout(60)

LOOPBACK = MediaConfig(media_ips=("127.0.0.1",))
pending_answers: set[asyncio.Future[None]] = set()


async def connect(
    sfu: SFU, session_id: str, pid: str, client: MediaClient, kinds: tuple[str, ...] = ("audio", "video")
) -> None:
    async def send_signal(event: MediaEvent) -> None:
        assert isinstance(event, Offer)

        async def send_answer(sdp: str) -> None:
            await sfu.handle_answer(session_id, pid, sdp)

        # Answer after returning, as a browser does: the SFU must not wait for it.
        task = asyncio.ensure_future(client.handle_offer(protocol.media_event_message(event), send_answer))
        pending_answers.add(task)
        task.add_done_callback(pending_answers.discard)

    await sfu.join(session_id, pid, send_signal, kinds)


async def wait_until(predicate: Any, timeout: float = 10, interval: float = 0.05) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


async def test_three_clients_each_receive_the_other_two() -> None:
    """Three participants each receive decodable audio and video from the other two."""
    sfu = SFU(LOOPBACK)
    clients = {
        pid: MediaClient(pid, {"audio": AudioStreamTrack(), "video": VideoStreamTrack()}) for pid in ("a", "b", "c")
    }
    try:
        for pid, client in clients.items():
            await connect(sfu, "room", pid, client)
        for pid, client in clients.items():
            expected = {(other, kind) for other in clients if other != pid for kind in ("audio", "video")}
            await client.wait_for_tracks(expected, timeout=15)
        for pid, client in clients.items():
            for (other, kind), track in client.remote.items():
                frame = await asyncio.wait_for(track.recv(), 10)
                if kind == "video":
                    assert frame.width == 640 and frame.height == 480, (pid, other)
                else:
                    assert frame.sample_rate == 48000, (pid, other)
    finally:
        await asyncio.gather(*(c.close() for c in clients.values()))
        await sfu.close_all()


async def test_subscriber_receives_the_publishers_encoded_frames_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The VP8 frames a subscriber reassembles are byte for byte what the publisher sent; nothing decodes."""

    def no_decoding(codec: Any) -> Any:
        raise AssertionError(f"a {codec.name} decoder was created")

    monkeypatch.setattr(rtcrtpreceiver, "get_decoder", no_decoding)
    frames = encode_vp8_frames(count=60)
    publisher_track = ReplayVideoTrack(frames)
    sfu = SFU(LOOPBACK)
    publisher = MediaClient("pub", {"video": publisher_track})
    subscriber = MediaClient("sub", {}, record_encoded=True)
    try:
        await connect(sfu, "room", "pub", publisher, kinds=("video",))
        await connect(sfu, "room", "sub", subscriber, kinds=())
        await subscriber.wait_for_tracks({("pub", "video")})
        recorder = subscriber.recorder_for("pub", "video")
        await wait_until(lambda: len(recorder.frames) >= 40, timeout=20)
        sent = set(publisher_track.sent)
        assert recorder.frames[0][0] & 0x01 == 0, "the subscriber must start on a keyframe"
        assert all(frame in sent for frame in recorder.frames)
        decoder_threads = [t for t in threading.enumerate() if t.name.endswith("-decoder")]
        assert decoder_threads == []
    finally:
        await publisher.close()
        await subscriber.close()
        await sfu.close_all()


async def test_a_video_packet_lost_for_good_freezes_no_subscriber_for_a_second() -> None:
    """
    One packet of the publisher's video never reaches the SFU, retransmissions included. aiortc alone
    would hold every later frame until 512 packets piled up (many seconds at this bitrate); the SFU
    gives the frame up, asks for a keyframe, and the subscriber's video goes on in well under 1 s.
    """
    sfu = SFU(LOOPBACK)
    publisher = MediaClient("pub", {"video": VideoStreamTrack()})  # encodes: answers PLIs with keyframes
    subscriber = MediaClient("sub", {}, record_encoded=True)
    try:
        await connect(sfu, "room", "pub", publisher, kinds=("video",))
        await connect(sfu, "room", "sub", subscriber, kinds=())
        await subscriber.wait_for_tracks({("pub", "video")})
        recorder = subscriber.recorder_for("pub", "video")
        await wait_until(lambda: len(recorder.frames) >= 30, timeout=20)

        buffer = sfu.rooms["room"].peers["pub"].published["video"].layer(0).assembler
        add = buffer.add
        lost: list[int] = []

        def lose_one_for_good(packet: Any) -> Any:
            if not lost:
                lost.append(packet.sequence_number)
            if packet.sequence_number == lost[0]:
                return False, None
            return add(packet)

        buffer.add = lose_one_for_good
        frames_before = len(recorder.frames)
        await wait_until(lambda: len(recorder.frames) >= frames_before + 45, timeout=20)
        arrivals = recorder.arrival_times[frames_before - 1 :]
        longest_gap = max(later - earlier for earlier, later in itertools.pairwise(arrivals))
        assert longest_gap < 1.0, f"the subscriber's video froze for {longest_gap:.2f} s"
        assert buffer.stalls == 1
        # It went on at a keyframe: nothing undecodable was forwarded after the loss. (The test client's
        # own jitter buffer releases a frame when the next one starts: the frame that ends the gap is
        # the last one from before the loss, let out by the keyframe's first packet.)
        resumed_at = next(i for i, (a, b) in enumerate(itertools.pairwise(arrivals)) if b - a == longest_gap)
        assert recorder.frames[frames_before + resumed_at + 1][0] & 0x01 == 0
    finally:
        await publisher.close()
        await subscriber.close()
        await sfu.close_all()
