"""The receiver tap's buffers: video that recovers from lost packets and new streams, audio without delay."""

from __future__ import annotations

import asyncio

from aiortc.rtp import RtpPacket

from sessions_app.sfu.forwarding import DEFAULT_FRAME_TICKS, ForwardingTrack
from sessions_app.sfu.published import PublishedTrack
from sessions_app.sfu.receive import VIDEO_STALL_TICKS, FrameAssembler, VideoReceivePath
from sessions_app.sfu.tap import ImmediateAudioBuffer
from sessions_app.sfu.vp8 import starts_frame

from .sfu_fakes import FakeReceiver, FrameCollector

FRAME_TICKS = 3000  # 30 fps on the 90 kHz video clock
FRAME_START = b"\x10"  # VP8 descriptor: S=1, partition 0
CONTINUATION = b"\x00"


def video_packet(
    ssrc: int, sequence: int, timestamp: int, *, first: bool, keyframe: bool = False, last: bool = False
) -> RtpPacket:
    packet = RtpPacket(
        payload_type=96, sequence_number=sequence & 0xFFFF, timestamp=timestamp & 0xFFFFFFFF, ssrc=ssrc, marker=last
    )
    # A frame's first packet opens the VP8 frame: its header's low bit is 0 for a keyframe.
    packet.payload = FRAME_START + (b"\x00" if keyframe else b"\x01") + b"vp8" if first else CONTINUATION + b"payload"
    return packet


def video_frames(
    ssrc: int, count: int, *, seq: int = 0, ts: int = 0, per_frame: int = 2, marked: bool = False
) -> list[RtpPacket]:
    """
    ``count`` frames of ``per_frame`` packets each; the first frame is a keyframe. ``marked``: each
    frame's last packet has the marker bit, as browsers and aiortc send them.
    """
    packets = []
    for frame in range(count):
        for part in range(per_frame):
            last = marked and part == per_frame - 1
            packets.append(
                video_packet(ssrc, seq, ts + frame * FRAME_TICKS, first=part == 0, keyframe=frame == 0, last=last)
            )
            seq += 1
    return packets


def feed(buffer: FrameAssembler, packets: list[RtpPacket]) -> tuple[list[int], int]:
    """Add ``packets``; return the timestamps of the frames that came out and how many PLIs were asked for."""
    timestamps, plis = [], 0
    for packet in packets:
        pli, frame = buffer.add(packet)
        plis += pli
        if frame is not None:
            timestamps.append(frame.timestamp)
    return timestamps, plis


def published_video(ssrc: int) -> PublishedTrack:
    published = PublishedTrack("video", "pub")
    published.layer(0).bind(ssrc)
    return published


def assembler(ssrc: int) -> FrameAssembler:
    return published_video(ssrc).layer(0).assembler


def test_frame_starts_are_read_from_the_vp8_descriptor() -> None:
    assert starts_frame(b"\x10\x00") and starts_frame(b"\x90\x80\x00")
    assert not starts_frame(b"\x00\x00")  # continuation
    assert not starts_frame(b"\x11")  # start of partition 1, not of the frame
    assert not starts_frame(b"")


def test_frames_pass_in_order_without_loss() -> None:
    buffer = assembler(5)
    timestamps, plis = feed(buffer, video_frames(5, 10))
    assert timestamps == [i * FRAME_TICKS for i in range(9)]  # the last one waits for the next frame
    assert plis == 0 and buffer.stalls == 0


def test_a_frame_comes_out_with_its_marked_last_packet() -> None:
    """No waiting for the next frame to begin: that would hold every frame one frame interval."""
    buffer = assembler(5)
    packets = video_frames(5, 3, per_frame=3, marked=True)
    for index, packet in enumerate(packets):
        _, frame = buffer.add(packet)
        if index % 3 == 2:
            assert frame is not None and frame.timestamp == index // 3 * FRAME_TICKS
            # The payloads go on as they came, descriptors and all; the first one's VP8 bytes tell a keyframe.
            vp8_header = b"\x00" if index == 2 else b"\x01"
            assert frame.payloads == [FRAME_START + vp8_header + b"vp8"] + [CONTINUATION + b"payload"] * 2
            assert frame.is_keyframe is (index == 2)
        else:
            assert frame is None


def test_a_marked_frame_waits_for_a_packet_missing_before_its_marker() -> None:
    buffer = assembler(5)
    packets = video_frames(5, 3, per_frame=3, marked=True)
    missing = packets.pop(4)  # middle packet of frame 1
    timestamps, _ = feed(buffer, packets[:5])  # frame 0, then frame 1 without its middle
    assert timestamps == [0]
    more, _ = feed(buffer, [missing, *packets[5:]])
    assert more == [FRAME_TICKS, 2 * FRAME_TICKS]
    # A late duplicate of a frame already forwarded is not forwarded again.
    assert feed(buffer, [packets[0]]) == ([], 0)


def test_a_lost_first_packet_of_a_marked_frame_is_given_up_after_the_stall_window() -> None:
    """The frame before it went out whole, so the gap is at the buffer's origin: it still stalls, not freezes."""
    buffer = assembler(5)
    stall_frames = VIDEO_STALL_TICKS // FRAME_TICKS + 2
    packets = video_frames(5, stall_frames + 4, marked=True)
    del packets[2]  # the first packet of frame 1, never repaired
    timestamps, plis = feed(buffer, packets[: 2 * (stall_frames + 1)])
    assert timestamps == [0]
    assert plis == 1 and buffer.stalls == 1
    later, _ = feed(buffer, packets[2 * (stall_frames + 1) :])
    assert later and all(ts > VIDEO_STALL_TICKS for ts in later)


def test_a_packet_repaired_in_time_costs_no_frame() -> None:
    """A retransmission that arrives within the stall window completes the frame: nothing is dropped."""
    buffer = assembler(5)
    packets = video_frames(5, 6)
    lost = packets.pop(3)  # second packet of frame 1
    timestamps, plis = feed(buffer, packets[:5])
    assert timestamps == [0]
    more, more_plis = feed(buffer, [lost, *packets[5:]])
    assert timestamps + more == [i * FRAME_TICKS for i in range(5)]
    assert plis == more_plis == 0


def test_a_packet_lost_for_good_is_given_up_after_the_stall_window() -> None:
    """
    aiortc alone would hold every later frame until 512 packets piled up. The tap gives the
    frame up once packets VIDEO_STALL_S younger arrive, asks for a keyframe, and goes on from
    the next frame start.
    """
    buffer = assembler(5)
    stall_frames = VIDEO_STALL_TICKS // FRAME_TICKS + 2
    packets = video_frames(5, stall_frames + 4)
    del packets[3]  # never repaired
    timestamps, plis = feed(buffer, packets[: 2 * (stall_frames + 1)])
    assert timestamps == [0]
    assert plis == 1 and buffer.stalls == 1
    # After the reset, frames flow again from the next frame start (the keyframe asked for may come later).
    later, later_plis = feed(buffer, packets[2 * (stall_frames + 1) :])
    assert later and later_plis == 0
    assert all(ts > VIDEO_STALL_TICKS for ts in later)


async def test_a_new_stream_restarts_the_buffer_and_the_subscribers_timeline() -> None:
    """A restarted share (new SSRC, sequence numbers and clock): frames flow at once, on a continuous timeline."""
    published = PublishedTrack("video", "pub")
    receiver = FakeReceiver()
    path = VideoReceivePath(receiver, published)  # type: ignore[arg-type]
    published.bind_pli_sender(receiver.send_pli)
    subscriber = ForwardingTrack("video")
    subscriber.attach(published)
    collector = FrameCollector()
    subscriber.start(collector)  # type: ignore[arg-type]
    for packet in video_frames(5, 4, marked=True):
        await path.handle(packet, 0)
    assert len(collector.frames) == 4
    last_pts = collector.timestamps[-1]

    # Mid-frame packets of the new stream are skipped until one opens a frame.
    orphan = video_packet(9, 40_000, 7_777_777, first=False)
    await path.handle(orphan, 0)
    await asyncio.sleep(0)
    assert published.layer(0).ssrc == 9 and receiver.plis[-1] == 9 and subscriber._awaiting_keyframe
    for packet in video_frames(9, 3, seq=40_001, ts=7_777_777 + FRAME_TICKS, marked=True):
        await path.handle(packet, 0)
    assert len(collector.frames) == 7
    # The new stream goes on from the last frame by the wall-clock time between them (at least a tick).
    step = (collector.timestamps[-3] - last_pts) & 0xFFFFFFFF
    assert 0 < step <= DEFAULT_FRAME_TICKS * 10
    assert collector.timestamps[-2:] == [
        collector.timestamps[-3] + FRAME_TICKS,
        collector.timestamps[-3] + 2 * FRAME_TICKS,
    ]
    subscriber.stop()


def audio_packet(sequence: int, level: int | None = None) -> RtpPacket:
    packet = RtpPacket(payload_type=111, sequence_number=sequence & 0xFFFF, timestamp=sequence * 960, ssrc=7)
    packet.payload = packet._data = bytes([sequence & 0xFF])  # type: ignore[attr-defined]
    if level is not None:
        packet.extensions.audio_level = (True, level)
    return packet


def test_audio_is_forwarded_the_moment_it_arrives_and_loss_holds_nothing_back() -> None:
    published = PublishedTrack("audio", "pub")
    buffer = ImmediateAudioBuffer(published)
    out = []
    for sequence in (65_534, 65_535, 0, 2, 5):  # wraps, with gaps
        _, frame = buffer.add(audio_packet(sequence))
        assert frame is not None
        out.append(frame.payloads[0][0])
    assert out == [0xFE, 0xFF, 0x00, 0x02, 0x05]
    # Late and duplicated packets are dropped: the subscriber's stream stays in order.
    assert buffer.add(audio_packet(4)) == (False, None)
    assert buffer.add(audio_packet(5)) == (False, None)


def test_audio_levels_are_metered_from_the_header_extension() -> None:
    published = PublishedTrack("audio", "pub")
    buffer = ImmediateAudioBuffer(published)
    for sequence in range(40):
        buffer.add(audio_packet(sequence, level=10))
    assert published.loudness > 100
    for sequence in range(40, 80):
        buffer.add(audio_packet(sequence, level=127))
    assert published.loudness < 5
