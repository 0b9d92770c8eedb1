"""
A 4x4 meeting's media path in one process, for measuring what recording adds to it.

Each publisher's video goes through ``simulcast_world.Fanout`` (the real receive path, forwarding
and ``PacketSender`` to 3 subscribers over SRTP and UDP, one 640x480 layer at ~850 kbit/s as
``bench/media.py`` sends); its audio through the real ``ImmediateAudioBuffer`` and
``PublishedTrack`` to 3 more ``PacketSender``s. Media is fed in real time (a recording's writer
thread runs as it would beside a live call), 50 Opus packets and 30 VP8 frames a second per
publisher. With ``recording`` set, one ``Recording`` takes every track, as a room does.
Not included: the kernel's receive, ICE demultiplexing, RTCP, event-loop wake-ups per datagram.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpCodecParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket
from aiortc.utils import random32

from sessions_app.sfu.forwarding import ForwardingTrack
from sessions_app.sfu.published import PublishedTrack
from sessions_app.sfu.recording import RecordedTrack, Recording
from sessions_app.sfu.sender import PacketSender
from sessions_app.sfu.tap import ImmediateAudioBuffer

from .channel import LOOPBACK
from .simulcast_media import FPS, HEADER_EXTENSIONS, SINGLE_LAYER, extensions_map, publisher_packets, srtp_session
from .simulcast_world import Fanout, SubscriberSender

OPUS = RTCRtpCodecParameters(mimeType="audio/opus", clockRate=48_000, channels=2, payloadType=111)
OPUS_TICKS = 960
AUDIO_PER_S = 50


def audio_datagrams(packets: list[bytes], count: int) -> list[bytes]:
    """``count`` Opus packets (looping over ``packets``) as a publisher sends them: RTP, MID, SRTP."""
    mapping = extensions_map()
    srtp = srtp_session(outbound=True)
    ssrc, sequence, timestamp = random32(), random32() & 0xFFFF, random32()
    out = []
    for index in range(count):
        packet = RtpPacket(payload_type=OPUS.payloadType, sequence_number=sequence, timestamp=timestamp, ssrc=ssrc)
        packet.extensions.mid = "1"
        packet.payload = packets[index % len(packets)]
        out.append(srtp.protect(packet.serialize(mapping)))
        sequence = (sequence + 1) & 0xFFFF
        timestamp = (timestamp + OPUS_TICKS) & 0xFFFFFFFF
    return out


class AudioFanout:
    """One publisher's audio to ``subscribers`` subscriptions: the SFU's own buffer, track and senders."""

    def __init__(self, participant_id: str) -> None:
        self.published = PublishedTrack("audio", participant_id)
        self.buffer = ImmediateAudioBuffer(self.published)
        self.mapping: HeaderExtensionsMap = extensions_map()
        self.srtp = srtp_session(outbound=False)
        self.tracks: list[ForwardingTrack] = []
        self.senders: list[PacketSender] = []
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    @classmethod
    async def open(cls, participant_id: str, subscribers: int) -> AudioFanout:
        fanout = cls(participant_id)
        fanout._sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # nobody reads it
        fanout._sink.bind((LOOPBACK, 0))
        address = fanout._sink.getsockname()
        loop = asyncio.get_running_loop()
        subscription_map = HeaderExtensionsMap()
        subscription_map.configure(RTCRtpParameters(headerExtensions=HEADER_EXTENSIONS[:2]))
        for _ in range(subscribers):
            transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(LOOPBACK, 0))
            fanout._transports.append(transport)
            track = ForwardingTrack("audio")
            track.attach(fanout.published)
            sender = PacketSender(SubscriberSender(transport, address, subscription_map), track)  # type: ignore[arg-type]
            fanout.tracks.append(track)
            fanout.senders.append(sender)
            fanout._tasks.append(loop.create_task(sender._run_rtp(OPUS)))
        await asyncio.sleep(0)
        return fanout

    def feed(self, datagram: bytes) -> None:
        """One packet as aiortc's receiver hands it on: the buffer makes its frame, the decoder tap forwards it."""
        _, frame = self.buffer.add(RtpPacket.parse(self.srtp.unprotect(datagram), self.mapping))
        if frame is not None:
            self.published.on_frame(frame)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for transport in self._transports:
            transport.close()
        self.published.close()
        self._sink.close()


class InProcessMeeting:
    """``publishers`` participants, each publishing audio and video to every other one."""

    def __init__(self, video: list[Fanout], audio: list[AudioFanout]) -> None:
        self.video = video
        self.audio = audio

    @classmethod
    async def open(cls, publishers: int) -> InProcessMeeting:
        video = [await Fanout.open(1, publishers - 1, switching=False) for _ in range(publishers)]
        audio = [await AudioFanout.open(f"p{index}", publishers - 1) for index in range(publishers)]
        for index, fanout in enumerate(video):
            fanout.published.participant_id = f"p{index}"
        return cls(video, audio)

    def tracks(self) -> list[PublishedTrack]:
        return [fanout.published for fanout in self.video] + [fanout.published for fanout in self.audio]

    async def play(self, frames: list[list[bytes]], audio: list[bytes], first: int, seconds: float, gop: int) -> None:
        """
        ``seconds`` of media in real time from video frame ``first`` on: every publisher's frame each
        1/FPS s and Opus packet each 1/50 s (the same streams for all: each has its own receive path).
        """
        started = time.monotonic()
        video_sent = audio_sent = 0
        video_due = round(seconds * FPS)
        audio_due = round(seconds * AUDIO_PER_S)
        first_audio = first * AUDIO_PER_S // FPS
        while video_sent < video_due or audio_sent < audio_due:
            elapsed = time.monotonic() - started
            while video_sent < video_due and video_sent / FPS <= elapsed:
                index = first + video_sent
                for fanout in self.video:
                    await fanout.feed([frames[index % len(frames)]], index, gop)
                video_sent += 1
            while audio_sent < audio_due and audio_sent / AUDIO_PER_S <= elapsed:
                datagram = audio[(first_audio + audio_sent) % len(audio)]
                for audio_fanout in self.audio:
                    audio_fanout.feed(datagram)
                audio_sent += 1
            await asyncio.sleep(0.005)

    def forwarded_frames(self) -> int:
        return sum(track.frames_forwarded for fanout in [*self.video, *self.audio] for track in fanout.tracks)

    async def close(self) -> None:
        for fanout in self.video:
            await fanout.close()
        for audio_fanout in self.audio:
            await audio_fanout.close()


async def measure_case(
    recording: bool,
    publishers: int,
    media_s: float,
    warmup_s: float,
    gop: int,
    audio_packets: list[bytes],
    directory: str,
) -> dict[str, Any]:
    """One pass: warm up, then ``media_s`` of real-time media measured with ``time.process_time`` (every thread)."""
    frame_count = round((warmup_s + media_s) * FPS) + 1
    frames, _ = publisher_packets(SINGLE_LAYER, frame_count, gop)
    audio = audio_datagrams(audio_packets, round((warmup_s + media_s) * AUDIO_PER_S) + 1)
    meeting = await InProcessMeeting.open(publishers)
    recorder: Recording | None = None
    recorded: list[RecordedTrack] = []
    try:
        if recording:
            recorder = Recording("bench", directory)
            recorder.start()
            for track in meeting.tracks():
                recorder.add(track)
        await meeting.play(frames, audio, 0, warmup_s, gop)
        forwarded_before = meeting.forwarded_frames()
        written_before = recorder.frames_written if recorder else 0
        started = time.process_time()
        await meeting.play(frames, audio, round(warmup_s * FPS), media_s, gop)
        cpu_s = time.process_time() - started
        forwarded = meeting.forwarded_frames() - forwarded_before
        written = (recorder.frames_written if recorder else 0) - written_before
        if recorder is not None:
            recorded = await recorder.stop()
    finally:
        await meeting.close()
    return {
        "recording": recording,
        "media_s": media_s,
        "cpu_s": round(cpu_s, 4),
        "cores": round(cpu_s / media_s, 4),
        "frames_forwarded_per_s": round(forwarded / media_s, 1),
        "frames_written_per_s": round(written / media_s, 1),
        "files": len(recorded),
        "frames_dropped": sum(track.frames_dropped for track in recorded),
    }
