"""Recording without decoding, piece by piece: depayloading, timestamps, muxing, layer choice, back-pressure."""

from __future__ import annotations

import asyncio
import itertools
import struct
from pathlib import Path

import av
import pytest
from aiortc.codecs.vpx import vp8_depayload

from sessions_app.sfu.frames import TappedFrame
from sessions_app.sfu.published import LAYER_IDLE_S, PublishedTrack
from sessions_app.sfu.recording import RecordedTrack, Recording
from sessions_app.sfu.recording.session import file_stem
from sessions_app.sfu.recording.webm import OPUS_HEAD, Timeline, free_path, opus_samples, vp8_frame
from sessions_app.sfu.vp8 import parse_frame_info
from tests.synthetic import encode_opus_packets, encode_vp8_frames
from tests.test_sfu import wait_until

from .sfu_fakes import FakeReceiver

FRAME_TICKS = 6000  # 15 fps on the 90 kHz clock
OPUS_TICKS = 960


@pytest.fixture(scope="module")
def vp8_frames() -> list[bytes]:
    """Real VP8 at 160x120, a keyframe every 5 frames: each frame different."""
    return encode_vp8_frames(count=25, width=160, height=120, fps=15, gop=5)


@pytest.fixture(scope="module")
def opus_packets() -> list[bytes]:
    return encode_opus_packets(20)


def packetize(frame: bytes, picture_id: int, mtu: int = 300) -> list[bytes]:
    """A VP8 frame as RTP payloads, each with a descriptor (X, I with a 15-bit picture ID; S on the first)."""
    payloads = []
    for offset in range(0, len(frame), mtu):
        start = 0x10 if offset == 0 else 0x00
        payloads.append(
            bytes([0x80 | start, 0x80, 0x80 | picture_id >> 8, picture_id & 0xFF]) + frame[offset : offset + mtu]
        )
    return payloads


def video_frame(data: bytes, index: int, layer: int = 0, generation: int = 0, base_ts: int = 0) -> TappedFrame:
    payloads = packetize(data, (100 * layer + index) & 0x7FFF)
    info = parse_frame_info(payloads[0])
    keyframe = info is not None and info.is_keyframe
    timestamp = (base_ts + index * FRAME_TICKS) & 0xFFFFFFFF
    return TappedFrame(payloads, timestamp, keyframe, layer=layer, generation=generation, info=info, size=len(data))


def published_video(layers: int = 1) -> tuple[PublishedTrack, FakeReceiver]:
    published = PublishedTrack("video", "ann")
    receiver = FakeReceiver()
    published.bind_pli_sender(receiver.send_pli)
    for index in range(layers):
        published.layer(index).bind(1000 + index)
    return published, receiver


def demux(path: str) -> list[av.Packet]:
    with av.open(path) as container:
        return [packet for packet in container.demux() if packet.size]


def test_a_vp8_frame_is_its_payloads_without_descriptors_as_a_receiver_depayloads_them(vp8_frames: list[bytes]) -> None:
    frame = vp8_frames[0]
    payloads = [
        b"\x10" + frame[:50],  # no extension
        b"\x80\x80\x05" + frame[50:100],  # 7-bit picture ID
        b"\x80\xe0\x80\x05\x07\x40" + frame[100:150],  # 15-bit picture ID, TL0PICIDX, TID
        b"\x80\x20\x40" + frame[150:],  # TID only
    ]
    assert bytes(vp8_frame(payloads)) == frame
    assert bytes(vp8_frame(payloads)) == b"".join(vp8_depayload(payload) for payload in payloads)
    assert bytes(vp8_frame([b"\x90\x80\x80\x05" + frame])) == frame
    assert bytes(vp8_frame([b"\x90\x80"])) == b"", "a payload that ends in its descriptor carries nothing"


def test_an_opus_packet_lasts_what_its_toc_byte_says(opus_packets: list[bytes]) -> None:
    assert {opus_samples(packet) for packet in opus_packets} == {960}  # libopus's 20 ms
    assert opus_samples(bytes([16 << 3])) == 120  # CELT 2.5 ms
    assert opus_samples(bytes([(3 << 3) | 1])) == 2 * 2880  # SILK 60 ms, two frames
    assert opus_samples(bytes([(13 << 3) | 3, 3])) == 3 * 960  # hybrid 20 ms, three frames (code 3)
    assert opus_samples(b"") == 0


def test_the_timeline_follows_rtp_timestamps_and_unwraps_them() -> None:
    timeline = Timeline(90_000, epoch=100.0)
    start = 0xFFFFFFFF - 2 * 3000
    placed = [timeline.place((start + i * 3000) & 0xFFFFFFFF, 100.5 + i * 0.03) for i in range(6)]
    assert placed[0] == 500, "the first frame goes where it arrived, in ms since the epoch"
    assert [b - a for a, b in itertools.pairwise(placed)] == [33, 33, 34, 33, 33]


def test_the_timeline_keeps_a_mute_gap_and_starts_again_where_the_clock_jumped() -> None:
    timeline = Timeline(48_000, epoch=0.0)
    assert timeline.place(1000, 1.0) == 1000
    assert timeline.place(1000 + OPUS_TICKS, 1.02) == 1020
    # Muted for 3 s: the sender's clock ran on, and its packets keep their spacing from before.
    assert timeline.place(1000 + 151 * OPUS_TICKS, 4.05) == 4020
    # A clock that stood still while nothing was sent: the arrival says where the frame goes.
    assert timeline.place(1000 + 152 * OPUS_TICKS, 9.0) == 9000
    assert timeline.place(1000 + 153 * OPUS_TICKS, 9.02) == 9020


def test_a_new_stream_continues_the_timeline_from_its_arrival_and_never_goes_back() -> None:
    timeline = Timeline(90_000, epoch=0.0)
    assert timeline.place(5_000_000, 2.0) == 2000
    assert timeline.place(5_000_000 + 3000, 2.033) == 2033
    assert timeline.place(123, 2.100, new_stream=True) == 2100
    # A late frame of a stream whose arrival would put it before the last one still goes after it.
    assert timeline.place(77, 2.0, new_stream=True) == 2101
    assert timeline.place(77 + 3000, 2.033) == 2134


async def test_a_video_file_starts_at_a_keyframe_and_holds_the_frames_as_they_came(
    tmp_path: Path, vp8_frames: list[bytes]
) -> None:
    published, receiver = published_video()
    recording = Recording("s", str(tmp_path))
    recording.start()
    recording.add(published)
    await asyncio.sleep(0)
    assert receiver.plis == [1000], "a recording asks for a keyframe when it starts"
    for index in range(2, 14):  # frames 2..4 are deltas: the file starts at frame 5's keyframe
        published.on_frame(video_frame(vp8_frames[index], index))
    [recorded] = await recording.stop()
    assert recorded.codec == "vp8" and recorded.source == "video" and recorded.participant_id == "ann"
    assert recorded.path == str(tmp_path / "ann-video-1.webm") and recorded.frame_count == 9
    packets = demux(recorded.path)
    assert [bytes(packet) for packet in packets] == vp8_frames[5:14]
    assert [packet.is_keyframe for packet in packets] == [i % 5 == 0 for i in range(5, 14)]
    pts = [packet.pts for packet in packets]
    assert pts[0] == recorded.start_offset_ms
    assert [b - a for a, b in itertools.pairwise(pts)] == [66, 67, 67] * 2 + [66, 67]
    assert recorded.duration_ms == pts[-1] - pts[0] + (pts[-1] - pts[-2]), "the last frame lasts as the one before"
    assert recorded.size_bytes == Path(recorded.path).stat().st_size
    with av.open(recorded.path) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("vp8", 160, 120)
        assert len(list(container.decode(video=0))) == 9, "what was written decodes (here, in the test)"


async def test_an_audio_file_holds_every_packet_with_its_opus_header(tmp_path: Path, opus_packets: list[bytes]) -> None:
    published = PublishedTrack("audio", "ann")
    recording = Recording("s", str(tmp_path))
    recording.start()
    recording.add(published)
    for index, packet in enumerate(opus_packets[:10]):
        published.on_frame(TappedFrame((packet,), 4_000_000_000 + index * OPUS_TICKS))
    [recorded] = await recording.stop()
    assert recorded.codec == "opus" and recorded.frame_count == 10 and recorded.duration_ms == 200
    packets = demux(recorded.path)
    assert [bytes(packet) for packet in packets] == opus_packets[:10]
    assert [packet.pts - packets[0].pts for packet in packets] == [20 * i for i in range(10)]
    with av.open(recorded.path) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus" and stream.codec_context.extradata == OPUS_HEAD
        assert stream.sample_rate == 48_000
    assert struct.unpack("<8sBBHIhB", OPUS_HEAD) == (b"OpusHead", 1, 2, 0, 48_000, 0, 0)


async def test_simulcast_video_records_the_highest_layer_and_moves_only_at_keyframes(
    tmp_path: Path, vp8_frames: list[bytes]
) -> None:
    published, receiver = published_video(layers=3)
    recording = Recording("s", str(tmp_path))
    recording.start()
    recording.add(published)
    layer_ts = {0: 0, 1: 1_000_000, 2: 2_000_000}

    def send(index: int, layers: tuple[int, ...]) -> None:
        for layer in layers:
            published.on_frame(video_frame(vp8_frames[index], index, layer, base_ts=layer_ts[layer]))

    for index in range(12):
        send(index, (0, 1, 2))
    # The top layer stops (the publisher's uplink shrank): after LAYER_IDLE_S, the middle one from its keyframe.
    published.layers[2].last_frame_at -= LAYER_IDLE_S
    for index in range(12, 17):
        send(index, (0, 1))
    await asyncio.sleep(0)
    assert 1001 in receiver.plis, "the layer moved to is asked for a keyframe"
    # The top layer comes back: it is asked for a keyframe, and recorded again from it (frame 20).
    for index in range(17, 22):
        send(index, (0, 1, 2))
    await asyncio.sleep(0)
    assert 1002 in receiver.plis
    [recorded] = await recording.stop()
    packets = demux(recorded.path)
    # The top layer for frames 0..11 (from its keyframe, though the bottom layer's came before it), the
    # middle layer from its keyframe at 15 to 20, the top layer again from its keyframe at 20.
    # (This publisher sends the same picture on every layer.)
    assert [bytes(packet) for packet in packets] == vp8_frames[0:12] + vp8_frames[15:21] + vp8_frames[20:22]
    assert [index for index, packet in enumerate(packets) if packet.is_keyframe] == [0, 5, 10, 12, 17, 18]
    pts = [packet.pts for packet in packets]
    assert all(b > a for a, b in itertools.pairwise(pts)), "one timeline across the layers' clocks"
    assert pts[12] - pts[11] < 1000 and pts[18] - pts[17] < 1000, "a move continues the timeline"


async def test_a_writer_that_falls_behind_drops_frames_and_the_file_goes_on_from_a_keyframe(
    tmp_path: Path, vp8_frames: list[bytes]
) -> None:
    published, _ = published_video()
    recording = Recording("s", str(tmp_path), queue_limit=3)
    recording.add(published)  # the writer has not started: nothing is taken off the queue
    for index in range(0, 7):
        published.on_frame(video_frame(vp8_frames[index], index))
    assert recording.frames_dropped == 2
    recording.start()
    await wait_until(lambda: recording.frames_written == 3)
    for index in range(7, 12):  # 7..9 are deltas after a loss: skipped; 10 is a keyframe
        published.on_frame(video_frame(vp8_frames[index], index))
    [recorded] = await recording.stop()
    assert [bytes(packet) for packet in demux(recorded.path)] == vp8_frames[0:3] + vp8_frames[10:12]
    # Refused: frame 3, then the keyframe at 5; the deltas after each were skipped, waiting for a keyframe.
    assert recorded.frames_dropped == 2 and recording.frames_dropped == 2


async def test_video_held_back_resumes_in_its_file_at_a_keyframe(tmp_path: Path, vp8_frames: list[bytes]) -> None:
    published, _ = published_video()
    recording = Recording("s", str(tmp_path))
    recording.start()
    recording.add(published)
    for index in range(0, 3):
        published.on_frame(video_frame(vp8_frames[index], index))
    published.set_forwarding(False)  # camera off: nothing is forwarded, nothing recorded
    for index in range(3, 7):
        published.on_frame(video_frame(vp8_frames[index], index))
    published.set_forwarding(True)
    for index in range(7, 12):
        published.on_frame(video_frame(vp8_frames[index], index))
    [recorded] = await recording.stop()
    assert [bytes(packet) for packet in demux(recorded.path)] == vp8_frames[0:3] + vp8_frames[10:12]


async def test_each_stretch_of_publishing_is_a_file_of_its_own_and_none_is_overwritten(
    tmp_path: Path, opus_packets: list[bytes]
) -> None:
    published = PublishedTrack("audio", "ann/../x")
    (tmp_path / "ann_.._x-audio-2.webm").write_bytes(b"someone else's")
    recording = Recording("s", str(tmp_path))
    recording.start()
    for stretch in range(3):
        recording.add(published)
        if stretch < 2:
            published.on_frame(TappedFrame((opus_packets[stretch],), stretch * OPUS_TICKS * 100))
        recording.remove(published)
    assert published.recorder is None
    recorded = await recording.stop()
    assert [Path(track.path).name for track in recorded] == ["ann_.._x-audio-1.webm", "ann_.._x-audio-2-2.webm"]
    assert (tmp_path / "ann_.._x-audio-2.webm").read_bytes() == b"someone else's"
    assert len(list(tmp_path.iterdir())) == 3, "a stretch without frames leaves no file"


def test_file_names_keep_only_safe_characters_of_a_participant_id(tmp_path: Path) -> None:
    assert file_stem("p-1_a.b", "screen", 2) == "p-1_a.b-screen-2"
    assert file_stem("../../etc/passwd", "audio", 1) == "_.._etc_passwd-audio-1"
    assert file_stem("..", "audio", 1) == "participant-audio-1"
    assert free_path(str(tmp_path), "x") == str(tmp_path / "x.webm")


def test_a_recorded_track_is_plain_values() -> None:
    track = RecordedTrack("ann", "audio", "/r/a.webm", "opus", 10, 2000, 100, 8000)
    assert track.frames_dropped == 0
    with pytest.raises(AttributeError):
        track.duration_ms = 1  # type: ignore[misc]
