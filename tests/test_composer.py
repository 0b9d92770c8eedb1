"""
The composer, on synthetic recordings: per-track WebM files written as the SFU's recorder writes
them (VP8 and Opus packets muxed with millisecond timestamps on the recording's timeline), composed,
then the output decoded and looked at.

The call most tests look at (``call``), 9 s on a 320x180 canvas at 10 fps:
- A: a red camera 0-6 s and 8-9 s (paused 6-8 s); a microphone 0-9 s with a tone 0-2 s.
- B: a blue camera 1-9 s; a microphone that starts at 3 s with a tone 3-4.5 s; a green screen share 4.5-6 s.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from sessions_app.composer import Canvas, Composed, ComposeError, TrackInput, compose, composition
from sessions_app.composer.layout import Rect, arrange, grid
from sessions_app.composer.mixer import ActiveSpeaker
from sessions_app.composer.picture import BACKGROUND_RGB, PLACEHOLDER_RGB
from sessions_app.sfu.recording.webm import add_opus_stream

MS = Fraction(1, 1000)
RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 30)
CANVAS = Canvas(width=320, height=180, fps=10, video_bitrate=800_000)
CALL_MS = 9000
TONE_HZ = 440
LOUD = 0.5

Image = np.ndarray[Any, np.dtype[np.uint8]]


# Recordings, written as the SFU's recorder writes them.


def write_camera(
    path: Path,
    colour: tuple[int, int, int],
    segments: Sequence[tuple[int, int]],
    size: tuple[int, int] = (160, 90),
    garbled: tuple[int, int] = (0, 0),
) -> None:
    """
    A VP8 file of one flat colour at 15 fps during each (start, end) ms segment (each starting on a
    keyframe), nothing in between; the packets within ``garbled`` (start, end) ms are random bytes.
    """
    noise = np.random.default_rng(7)
    width, height = size
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
    encoder.time_base = MS
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = colour
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_mux_stream("vp8", width=width, height=height)
        stream.time_base = MS
        for start, end in segments:
            for index, at in enumerate(range(start, end, 66)):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
                frame.pts = at
                frame.pict_type = av.video.frame.PictureType.I if index == 0 else av.video.frame.PictureType.NONE
                for encoded in encoder.encode(frame):
                    data = noise.bytes(encoded.size) if garbled[0] <= at < garbled[1] else bytes(encoded)
                    mux(container, stream, data, at, 66, encoded.is_keyframe)


def write_microphone(path: Path, start_ms: int, end_ms: int, tones: Sequence[tuple[int, int]]) -> None:
    """An Opus file from ``start_ms`` to ``end_ms`` (20 ms packets): a tone during each (start, end), else silence."""
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = 48_000, "stereo", "s16"
    encoder.time_base = Fraction(1, 48_000)
    sent = 0
    with av.open(str(path), "w", format="webm") as container:
        stream = add_opus_stream(container)
        stream.time_base = MS
        for at in range(start_ms, end_ms, 20):
            level = LOUD if any(low <= at < high for low, high in tones) else 0.0
            times = (np.arange(960) + at * 48) / 48_000
            wave = (level * 32767 * np.sin(2 * np.pi * TONE_HZ * times)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.repeat(wave, 2).reshape(1, -1), format="s16", layout="stereo")
            frame.sample_rate, frame.pts = 48_000, (at - start_ms) * 48
            for encoded in encoder.encode(frame):
                # Packets in order, 20 ms apart from the start (the encoder's own delay is not the recorder's).
                mux(container, stream, bytes(encoded), start_ms + sent * 20, 20, True)
                sent += 1


def mux(container: Any, stream: Any, data: bytes, pts: int, duration: int, keyframe: bool) -> None:
    packet = av.Packet(data)
    packet.stream, packet.time_base = stream, MS
    packet.pts = packet.dts = pts
    packet.duration = duration
    packet.is_keyframe = keyframe
    container.mux(packet)


# The output, decoded.


@dataclass
class Decoded:
    codecs: set[str]
    size: tuple[int, int]
    duration_s: float
    video_end_ms: int
    audio_end_ms: int
    frames: list[tuple[float, Image]]  # (seconds, RGB image)
    sound: np.ndarray[Any, np.dtype[np.float32]]  # mono, 48 kHz, from 0 s

    def frame_at(self, seconds: float) -> Image:
        return min(self.frames, key=lambda frame: abs(frame[0] - seconds))[1]

    def rms(self, start_s: float, end_s: float) -> float:
        return float(np.sqrt(np.mean(np.square(self.sound[int(start_s * 48_000) : int(end_s * 48_000)]))))


def decode(path: str) -> Decoded:
    with av.open(path) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        packets = [packet for packet in container.demux() if packet.pts is not None]
        ends = {
            kind: max(int((p.pts + p.duration) * p.time_base * 1000) for p in packets if p.stream.type == kind)
            for kind in ("video", "audio")
        }
        codecs = {video.codec_context.name, audio.codec_context.name}
        size = (video.codec_context.width, video.codec_context.height)
        duration_s = (container.duration or 0) / av.time_base
    frames: list[tuple[float, Image]] = []
    chunks: list[np.ndarray[Any, np.dtype[np.float32]]] = []
    with av.open(path) as container:
        for frame in container.decode(video=0):
            frames.append((float(frame.time or 0), frame.to_ndarray(format="rgb24")))
    with av.open(path) as container:
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=48_000)
        for decoded in container.decode(audio=0):
            for frame in resampler.resample(decoded):
                first = round(float(frame.time or 0) * 48_000)
                samples = frame.to_ndarray()[0]
                chunks.append(np.concatenate([np.zeros(max(0, first - sum(map(len, chunks))), np.float32), samples]))
    return Decoded(codecs, size, duration_s, ends["video"], ends["audio"], frames, np.concatenate(chunks))


def share(image: Image, colour: tuple[int, int, int], tolerance: int = 40) -> float:
    """The share of ``image``'s pixels within ``tolerance`` of ``colour`` in each channel."""
    close = np.all(np.abs(image.astype(np.int16) - np.array(colour, dtype=np.int16)) <= tolerance, axis=-1)
    return float(close.mean())


def light(image: Image) -> int:
    """How many pixels are near white (the highlight frame)."""
    return int(np.all(image >= 190, axis=-1).sum())


# The call most tests look at, composed once.


@dataclass
class Call:
    composed: Composed
    output: Decoded
    progress: list[float]


@pytest.fixture(scope="module")
def call(tmp_path_factory: pytest.TempPathFactory) -> Call:
    directory = tmp_path_factory.mktemp("call")
    write_camera(directory / "a-video.webm", RED, [(0, 6000), (8000, 9000)])
    write_microphone(directory / "a-audio.webm", 0, 9000, [(0, 2000)])
    write_camera(directory / "b-video.webm", BLUE, [(1000, 9000)])
    write_microphone(directory / "b-audio.webm", 3000, 9000, [(3000, 4500)])
    write_camera(directory / "b-screen.webm", GREEN, [(4500, 6000)], size=(160, 120))
    tracks = [
        TrackInput("A", "video", str(directory / "a-video.webm"), 0, 9000),
        TrackInput("A", "audio", str(directory / "a-audio.webm"), 0, 9000),
        TrackInput("B", "video", str(directory / "b-video.webm"), 1000, 8000),
        TrackInput("B", "audio", str(directory / "b-audio.webm"), 3000, 6000),
        TrackInput("B", "screen", str(directory / "b-screen.webm"), 4500, 1500),
    ]
    progress: list[float] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(composition, "PROGRESS_INTERVAL_S", 0)
        composed = compose(tracks, str(directory / "call.webm"), CANVAS, progress=progress.append)
    return Call(composed, decode(composed.path), progress)


def halves(image: Image) -> tuple[Image, Image]:
    return image[:, : image.shape[1] // 2], image[:, image.shape[1] // 2 :]


def test_the_output_is_vp8_and_opus_on_the_canvas_and_lasts_as_long_as_the_call(call: Call) -> None:
    assert call.output.codecs == {"vp8", "opus"}
    assert call.output.size == (320, 180)
    assert call.output.duration_s == pytest.approx(9.0, abs=0.1)
    assert call.output.video_end_ms == pytest.approx(9000, abs=100)
    assert call.output.audio_end_ms == pytest.approx(9000, abs=100)
    assert len(call.output.frames) == call.composed.video_frames == pytest.approx(90, abs=1)
    assert call.composed.duration_ms == CALL_MS
    assert call.composed.size_bytes == os.path.getsize(call.composed.path)
    assert call.composed.skipped == ()


def test_a_participant_alone_fills_the_picture(call: Call) -> None:
    image = call.output.frame_at(0.5)
    assert share(image, RED) > 0.6
    assert share(image, BLUE) == 0


def test_two_participants_sit_side_by_side_in_order_of_arrival(call: Call) -> None:
    left, right = halves(call.output.frame_at(2.5))
    assert share(left, RED) > 0.3 and share(left, BLUE) == 0
    assert share(right, BLUE) > 0.3 and share(right, RED) == 0


def test_a_screen_share_is_featured_beside_a_strip_of_the_cameras(call: Call) -> None:
    image = call.output.frame_at(5.5)
    featured, strip = image[:, :240], image[:, 240:]
    assert share(featured, GREEN) > 0.5
    assert share(featured, RED) == share(featured, BLUE) == 0
    assert share(strip, RED) > 0.05 and share(strip, BLUE) > 0.05
    assert share(strip, GREEN) == 0


def test_the_active_speaker_leads_the_strip(call: Call) -> None:
    """B, who spoke last, leads the strip until a second of silence has passed; then the stable order does."""
    strip = call.output.frame_at(5.0)[:, 240:]
    top, bottom = strip[:90], strip[90:]
    assert share(top, BLUE) > 0.1 and share(top, RED) == 0
    assert share(bottom, RED) > 0.1
    strip = call.output.frame_at(5.8)[:, 240:]
    assert share(strip[:90], RED) > 0.1 and share(strip[:90], BLUE) == 0


def test_a_paused_camera_shows_the_placeholder(call: Call) -> None:
    """A's camera sends nothing 6-8 s: its last frame is kept a second, then its tile is a flat placeholder."""
    left, right = halves(call.output.frame_at(7.5))
    assert share(left, PLACEHOLDER_RGB, tolerance=16) > 0.6
    assert share(left, RED) == 0
    assert share(right, BLUE) > 0.3
    assert share(halves(call.output.frame_at(8.7))[0], RED) > 0.3


def test_the_background_is_dark_grey(call: Call) -> None:
    image = call.output.frame_at(2.5)
    assert share(image[:30], BACKGROUND_RGB, tolerance=16) > 0.9  # above the letterboxed cameras


def test_the_active_speaker_is_highlighted_while_speaking(call: Call) -> None:
    left, right = halves(call.output.frame_at(1.5))
    assert light(left) > 300 and light(right) == 0
    left, right = halves(call.output.frame_at(4.2))
    assert light(right) > 300 and light(left) == 0


def test_nobody_is_highlighted_when_everyone_is_silent(call: Call) -> None:
    assert light(call.output.frame_at(7.5)) == 0


def test_the_mix_has_sound_where_tones_play_and_silence_elsewhere(call: Call) -> None:
    sound = call.output
    assert sound.rms(0.1, 1.9) > 0.1
    assert sound.rms(3.1, 4.4) > 0.1
    assert sound.rms(2.1, 2.9) < 0.005
    assert sound.rms(4.6, 9.0) < 0.005


def test_a_track_that_starts_later_is_heard_from_its_start(call: Call) -> None:
    """B's microphone starts at 3 s, its first packet a tone: the mix's sound starts there again."""
    after_silence = call.output.sound[int(2.5 * 48_000) :]
    onset_s = 2.5 + int(np.argmax(np.abs(after_silence) > 0.05)) / 48_000
    assert onset_s == pytest.approx(3.0, abs=0.05)


def test_progress_rises_to_one(call: Call) -> None:
    assert len(call.progress) > 10
    assert call.progress == sorted(call.progress)
    assert call.progress[0] >= 0 and call.progress[-1] == 1.0


# Speaker switching, on levels alone.


def hear(speaker: ActiveSpeaker, levels: dict[str, float], ms: int) -> None:
    for _ in range(ms // 20):
        speaker.hear({participant: rms**2 for participant, rms in levels.items()}, 960)


def test_the_speaker_keeps_the_floor_until_someone_is_clearly_louder_for_a_second() -> None:
    speaker = ActiveSpeaker()
    hear(speaker, {"A": 0.2}, 600)
    assert speaker.current == "A"
    hear(speaker, {"A": 0.15, "B": 0.2}, 2000)
    assert speaker.current == "A"  # louder, not clearly
    hear(speaker, {"A": 0.05, "B": 0.2}, 600)
    assert speaker.current == "A"
    hear(speaker, {"A": 0.05, "B": 0.2}, 600)
    assert speaker.current == "B"


def test_nobody_has_the_floor_after_a_second_of_silence() -> None:
    speaker = ActiveSpeaker()
    hear(speaker, {"A": 0.2}, 600)
    hear(speaker, {"A": 0.001, "B": 0.0}, 600)
    assert speaker.current == "A"
    hear(speaker, {"A": 0.001, "B": 0.0}, 600)
    assert speaker.current is None


# Broken inputs.


def test_missing_and_corrupt_files_are_skipped_and_the_rest_composes(tmp_path: Path) -> None:
    write_camera(tmp_path / "a-video.webm", RED, [(0, 3000)])
    write_camera(tmp_path / "b-video.webm", BLUE, [(0, 3000)])
    data = (tmp_path / "b-video.webm").read_bytes()
    (tmp_path / "b-video.webm").write_bytes(data[: len(data) // 2])  # cut short by a crash
    (tmp_path / "c-video.webm").write_bytes(os.urandom(4000))
    (tmp_path / "d-video.webm").write_bytes(b"")
    tracks = [
        TrackInput("A", "video", str(tmp_path / "a-video.webm"), 0, 3000),
        TrackInput("A", "audio", str(tmp_path / "a-audio.webm"), 0, 3000),  # never written
        TrackInput("B", "video", str(tmp_path / "b-video.webm"), 0, 3000),
        TrackInput("C", "video", str(tmp_path / "c-video.webm"), 0, 3000),
        TrackInput("D", "video", str(tmp_path / "d-video.webm"), 0, 3000),
    ]
    composed = compose(tracks, str(tmp_path / "out.webm"), CANVAS)
    broken = ("a-audio.webm", "b-video.webm", "c-video.webm", "d-video.webm")
    assert set(composed.skipped) == {str(tmp_path / name) for name in broken}
    output = decode(composed.path)
    assert output.duration_s == pytest.approx(3.0, abs=0.1)
    left, right = halves(output.frame_at(0.5))
    assert share(left, RED) > 0.3
    assert share(right, BLUE) > 0.3  # what was readable of B is kept


def test_undecodable_frames_mid_file_are_dropped_until_the_next_keyframe(tmp_path: Path) -> None:
    """Frames 0.5-0.8 s are garbage: the file is reported, and its picture is back from the keyframe at 2 s."""
    write_camera(tmp_path / "a-video.webm", RED, [(0, 2000), (2000, 3000)], garbled=(500, 800))
    track = TrackInput("A", "video", str(tmp_path / "a-video.webm"), 0, 3000)
    composed = compose([track], str(tmp_path / "out.webm"), CANVAS)
    assert composed.skipped == (track.path,)
    output = decode(composed.path)
    assert share(output.frame_at(0.3), RED) > 0.6
    assert share(output.frame_at(1.8), PLACEHOLDER_RGB, tolerance=16) > 0.9  # nothing decodable for over a second
    assert share(output.frame_at(2.5), RED) > 0.6


def test_nothing_to_compose_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ComposeError):
        compose([], str(tmp_path / "out.webm"), CANVAS)
    with pytest.raises(ComposeError):
        compose([TrackInput("A", "video", str(tmp_path / "gone.webm"), 0, 1000)], str(tmp_path / "out.webm"), CANVAS)


def test_an_output_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    write_camera(tmp_path / "a-video.webm", RED, [(0, 1000)])
    track = TrackInput("A", "video", str(tmp_path / "a-video.webm"), 0, 1000)
    with pytest.raises(ComposeError):
        compose([track], str(tmp_path / "no-such-directory" / "out.webm"), CANVAS)


# Layout arithmetic.


def test_the_grid_grows_by_rows_and_columns() -> None:
    assert grid(1, 1280, 720) == [Rect(8, 8, 1264, 704)]
    two = grid(2, 1280, 720)
    assert two[0].y == two[1].y and two[0].x < two[1].x
    assert len({(cell.x, cell.y) for cell in grid(4, 1280, 720)}) == 4
    assert len({cell.x for cell in grid(9, 1280, 720)}) == len({cell.y for cell in grid(9, 1280, 720)}) == 3


@pytest.mark.parametrize("count", range(1, 13))
@pytest.mark.parametrize("screen", [False, True])
def test_every_tile_is_even_and_inside_the_canvas_without_overlap(count: int, screen: bool) -> None:
    layout = arrange([f"p{index}" for index in range(count)], 640, 360, screen, "p3")
    rects = [cell for _, cell in layout.tiles] + ([layout.screen] if layout.screen else [])
    for rect in rects:
        assert all(value % 2 == 0 for value in (rect.x, rect.y, rect.width, rect.height))
        assert rect.x >= 0 and rect.y >= 0 and rect.x + rect.width <= 640 and rect.y + rect.height <= 360
    for first, second in itertools.combinations(rects, 2):
        apart = first.x + first.width <= second.x or first.y + first.height <= second.y
        assert apart or second.x + second.width <= first.x or second.y + second.height <= first.y


def test_a_frame_is_letterboxed_into_its_cell() -> None:
    cell = Rect(0, 0, 400, 400)
    assert cell.fit(1280, 720) == Rect(0, 88, 400, 224)
    assert cell.fit(480, 640) == Rect(50, 0, 300, 400)
