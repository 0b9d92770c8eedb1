"""
Recording a call through the SFU with real aiortc peer connections: per-track WebM files holding
exactly what was forwarded, on one timeline, as people mute, share their screen, join and leave.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path

import av
import pytest

from sessions_app.sfu import (
    SFU,
    AlreadyRecording,
    MediaError,
    MediaEvent,
    NotRecording,
    RecordedTrack,
    RecordingError,
    UnknownSession,
)
from tests.media_client import MediaClient
from tests.synthetic import ReplayAudioTrack, ReplayVideoTrack, encode_opus_packets, encode_vp8_frames
from tests.test_sfu import LOOPBACK, connect, wait_until

pytestmark = pytest.mark.timeout(60)

FPS = 15
# What the file's duration may differ from the time recorded by.
DURATION_TOLERANCE_S = 0.5


@pytest.fixture(scope="module")
def camera() -> list[bytes]:
    """Six seconds of 160x120 VP8 at 15 fps, every frame different, a keyframe every third of a second."""
    return encode_vp8_frames(count=90, width=160, height=120, fps=FPS, gop=5)


@pytest.fixture(scope="module")
def screen() -> list[bytes]:
    return encode_vp8_frames(count=20, width=320, height=240, fps=FPS, gop=5)


@pytest.fixture(scope="module")
def voice() -> list[bytes]:
    """Eight seconds of Opus, every packet different."""
    return encode_opus_packets(400)


def packets_of(path: str) -> list[av.Packet]:
    with av.open(path) as container:
        return [packet for packet in container.demux() if packet.size]


def file_end_s(path: str) -> float:
    """Where the file ends on the recording's timeline, as a player reads it (Matroska's duration)."""
    with av.open(path) as container:
        assert container.duration is not None
        return container.duration / av.time_base


def by_source(tracks: list[RecordedTrack]) -> dict[tuple[str, str], list[RecordedTrack]]:
    found: dict[tuple[str, str], list[RecordedTrack]] = {}
    for track in tracks:
        found.setdefault((track.participant_id, track.source), []).append(track)
    return found


async def frames_published(sfu: SFU, session_id: str, participant_id: str, source: str, more: int) -> None:
    """Wait until the SFU has received ``more`` frames more of a participant's source than now."""
    published = sfu.rooms[session_id].peers[participant_id].published[source]
    target = published.frames_received + more
    await wait_until(lambda: published.frames_received >= target, timeout=20)


async def test_each_track_is_recorded_as_it_was_forwarded_with_a_gap_where_it_was_muted(
    tmp_path: Path, camera: list[bytes], voice: list[bytes]
) -> None:
    """
    The camera and microphone each make a WebM file (VP8, Opus) whose packets are byte for byte the
    frames a subscriber received, video from a keyframe; both last as long as the recording; a mute
    leaves a gap, after which video goes on from a keyframe.
    """
    sfu = SFU(LOOPBACK)
    publisher = MediaClient("pub", {"audio": ReplayAudioTrack(voice), "video": ReplayVideoTrack(camera, fps=FPS)})
    subscriber = MediaClient("sub", {}, record_encoded=True)
    try:
        await connect(sfu, "room", "pub", publisher)
        await connect(sfu, "room", "sub", subscriber, kinds=())
        await subscriber.wait_for_tracks({("pub", "audio"), ("pub", "video")})
        heard, seen = subscriber.recorder_for("pub", "audio"), subscriber.recorder_for("pub", "video")
        await wait_until(lambda: heard.frames and seen.frames, timeout=20)

        started = time.monotonic()
        await sfu.start_recording("room", str(tmp_path))
        await frames_published(sfu, "room", "pub", "audio", 40)
        for source in ("audio", "video"):
            await sfu.set_forwarding("room", "pub", source, False)
        sent = publisher.tracks["audio"].sent
        muted_at = len(sent)
        await wait_until(lambda: len(sent) >= muted_at + 50)  # a second of the publisher's audio
        for source in ("audio", "video"):
            await sfu.set_forwarding("room", "pub", source, True)
        await frames_published(sfu, "room", "pub", "audio", 40)
        recorded_s = time.monotonic() - started
        tracks = await sfu.stop_recording("room")

        assert sorted((t.participant_id, t.source, t.codec) for t in tracks) == [
            ("pub", "audio", "opus"),
            ("pub", "video", "vp8"),
        ]
        files = {track.source: track for track in tracks}
        for source, track in files.items():
            assert Path(track.path).parent == tmp_path and Path(track.path).stat().st_size == track.size_bytes
            with av.open(track.path) as container:
                stream = container.streams[0]
                assert (stream.type, stream.codec_context.name) == (
                    ("audio", "opus") if source == "audio" else ("video", "vp8")
                )
            assert abs(file_end_s(track.path) - recorded_s) < DURATION_TOLERANCE_S, source
            assert abs((track.start_offset_ms + track.duration_ms) / 1000 - recorded_s) < DURATION_TOLERANCE_S
            packets = packets_of(track.path)
            assert packets[0].pts == track.start_offset_ms and len(packets) == track.frame_count
            gaps = [
                (later.pts - earlier.pts, index) for index, (earlier, later) in enumerate(itertools.pairwise(packets))
            ]
            longest, before = max(gaps)
            assert longest >= 900, f"{source}: the mute is a gap in the file"
            if source == "video":
                assert packets[0].is_keyframe and bytes(packets[0])[0] & 0x01 == 0, "a video file starts at a keyframe"
                assert packets[before + 1].is_keyframe, "after the gap, video goes on from a keyframe"
        assert files["audio"].start_offset_ms < 500, "audio is recorded from the start"

        # Byte for byte what the subscriber received, in order (gap included: it was not forwarded either).
        for source, received in (("audio", heard), ("video", seen)):
            written = [bytes(packet) for packet in packets_of(files[source].path)]
            await wait_until(lambda written=written, received=received: written[-1] in received.frames)
            starts = [index for index, frame in enumerate(received.frames) if frame == written[0]]
            assert any(received.frames[start : start + len(written)] == written for start in starts), source
        assert set(written) <= set(publisher.tracks["video"].sent)
    finally:
        await asyncio.gather(publisher.close(), subscriber.close())
        await sfu.close_all()


async def test_a_screen_share_and_a_late_joiner_get_files_of_their_own_on_the_same_timeline(
    tmp_path: Path, camera: list[bytes], screen: list[bytes], voice: list[bytes]
) -> None:
    """Each screen share is a file of its own; a participant who joins later starts at its offset."""
    sfu = SFU(LOOPBACK)
    sharing = ReplayVideoTrack(screen, fps=FPS)
    ann = MediaClient(
        "ann", {"audio": ReplayAudioTrack(voice), "video": ReplayVideoTrack(camera, fps=FPS), "screen": sharing}
    )
    bob = MediaClient("bob", {"audio": ReplayAudioTrack(voice)})
    try:
        await connect(sfu, "room", "ann", ann)
        await frames_published(sfu, "room", "ann", "audio", 5)
        started = time.monotonic()
        await sfu.start_recording("room", str(tmp_path))
        await frames_published(sfu, "room", "ann", "video", 5)

        await sfu.set_screen_share("room", "ann", True)
        await frames_published(sfu, "room", "ann", "screen", 10)
        await sfu.set_screen_share("room", "ann", False)
        await sfu.set_screen_share("room", "ann", True)
        await frames_published(sfu, "room", "ann", "screen", 10)
        await sfu.set_screen_share("room", "ann", False)
        bob_joined_s = time.monotonic() - started
        await connect(sfu, "room", "bob", bob, kinds=("audio",))
        await frames_published(sfu, "room", "bob", "audio", 25)
        tracks = await sfu.stop_recording("room")

        files = by_source(tracks)
        assert sorted(files) == [("ann", "audio"), ("ann", "screen"), ("ann", "video"), ("bob", "audio")]
        shares = files[("ann", "screen")]
        assert [Path(share.path).name for share in shares] == ["ann-screen-1.webm", "ann-screen-2.webm"]
        for share in shares:
            assert share.codec == "vp8"
            with av.open(share.path) as container:
                assert (container.streams.video[0].width, container.streams.video[0].height) == (320, 240)
            written = [bytes(packet) for packet in packets_of(share.path)]
            assert written[0][0] & 0x01 == 0 and set(written) <= set(sharing.sent)
        first, second = shares
        [camera_file] = files[("ann", "video")]
        assert camera_file.start_offset_ms < first.start_offset_ms
        assert first.start_offset_ms + first.duration_ms <= second.start_offset_ms
        [late] = files[("bob", "audio")]
        assert second.start_offset_ms + second.duration_ms <= late.start_offset_ms
        # Bob's first packet is where he joined on the recording's timeline (his media takes a moment to connect).
        assert 0 <= late.start_offset_ms / 1000 - bob_joined_s < 5
        assert packets_of(late.path)[0].pts == late.start_offset_ms
    finally:
        await asyncio.gather(ann.close(), bob.close())
        await sfu.close_all()


async def test_leaving_finishes_a_file_and_a_room_that_closes_reports_its_recording_once(
    tmp_path: Path, voice: list[bytes]
) -> None:
    """Files are finished when their participant leaves; the last one leaving ends the recording, reported at stop."""
    sfu = SFU(LOOPBACK)
    clients = {pid: MediaClient(pid, {"audio": ReplayAudioTrack(voice)}) for pid in ("ann", "bob")}
    try:
        for pid, client in clients.items():
            await connect(sfu, "room", pid, client, kinds=("audio",))
            await frames_published(sfu, "room", pid, "audio", 3)
        await sfu.start_recording("room", str(tmp_path))
        await frames_published(sfu, "room", "bob", "audio", 15)
        await sfu.leave("room", "ann")
        await frames_published(sfu, "room", "bob", "audio", 15)
        await sfu.leave("room", "bob")
        assert "room" not in sfu.rooms

        tracks = await sfu.stop_recording("room")
        assert sorted(track.participant_id for track in tracks) == ["ann", "bob"]
        ann, bob = sorted(tracks, key=lambda track: track.participant_id)
        assert ann.duration_ms < bob.duration_ms
        for track in tracks:
            assert len(packets_of(track.path)) == track.frame_count > 10, "finished files, index and all"
        with pytest.raises(NotRecording):
            await sfu.stop_recording("room")
        with pytest.raises(UnknownSession):
            await sfu.start_recording("room", str(tmp_path))
    finally:
        await asyncio.gather(*(client.close() for client in clients.values()))
        await sfu.close_all()


async def test_recording_commands_that_cannot_be_carried_out_are_clear_errors(tmp_path: Path) -> None:
    """Unknown sessions, a second start, a second stop and an unwritable directory raise MediaErrors."""

    async def ignore(event: MediaEvent) -> None:
        return None

    sfu = SFU(LOOPBACK)
    try:
        with pytest.raises(UnknownSession):
            await sfu.start_recording("nobody-here", str(tmp_path))
        with pytest.raises(NotRecording):
            await sfu.stop_recording("nobody-here")
        await sfu.join("room", "ann", ignore, ())
        not_a_directory = tmp_path / "file"
        not_a_directory.write_text("")
        with pytest.raises(RecordingError, match="Cannot record into"):
            await sfu.start_recording("room", str(not_a_directory / "recordings"))
        await sfu.start_recording("room", str(tmp_path / "new" / "directory"))
        with pytest.raises(AlreadyRecording):
            await sfu.start_recording("room", str(tmp_path))
        assert await sfu.stop_recording("room") == [], "nothing was published: no file"
        with pytest.raises(NotRecording) as stopped_twice:
            await sfu.stop_recording("room")
        assert isinstance(stopped_twice.value, MediaError)
        assert (tmp_path / "new" / "directory").is_dir()
    finally:
        await sfu.close_all()
