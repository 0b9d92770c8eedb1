"""
Added latency: how long a video frame takes from the publisher's sender to a subscriber, with and without the SFU.

The publisher appends a trailer to every VP8 frame it sends: a magic word, the frame's
index and its send time (``time.monotonic_ns()``, CLOCK_MONOTONIC: one clock for every
process of the machine). The SFU forwards encoded frames byte for byte, so the trailer
arrives as the last bytes of the frame's last RTP packet (the one with the marker bit).
Each subscriber notes when that packet arrives, decrypted, before its own jitter buffer:
what is measured is the network path and the server, not the subscriber's playout.

The same publisher and subscribers are measured twice in one run: through the SFU (in its
own process, ``bench/server.py``), and over direct peer connections in one process (the
baseline: the clients' own sending and receiving cost). Added latency is the difference
of the two at each percentile.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import struct
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCSessionDescription
from aiortc.rtp import RtpPacket

from sessions_app.sfu.ice import use_host_addresses
from tests.synthetic import EncodedPacket, ReplayVideoTrack

from . import load
from .channel import LOOPBACK
from .media import camera_like_vp8
from .runner import run_once

TRAILER = struct.Struct("!4sIq")  # magic, frame index, send time in ns (CLOCK_MONOTONIC)
MAGIC = b"LTCY"
TARGET_P99_MS = 20.0


class StampedVideoTrack(ReplayVideoTrack):
    """Replayed VP8 whose every frame carries its index and the moment the sender took it."""

    async def recv(self) -> EncodedPacket:  # type: ignore[override]
        packet = await super().recv()
        packet.data = packet.data + TRAILER.pack(MAGIC, self._index - 1, time.monotonic_ns())
        return packet


class ArrivalLog:
    """Arrival of each stamped frame's last packet at one receiver: index -> (sent_ns, arrived_ns)."""

    def __init__(self) -> None:
        self.frames: dict[int, tuple[int, int]] = {}
        self.recording = False

    def watch(self, receiver: RTCRtpReceiver) -> None:
        """Wrap ``receiver``'s packet handler (load side only): note stamps, then let aiortc go on."""
        handle = receiver._handle_rtp_packet

        async def handle_rtp_packet(packet: RtpPacket, arrival_time_ms: int) -> None:
            if self.recording and packet.marker:
                arrived = time.monotonic_ns()
                tail = packet.payload[-TRAILER.size :]
                if len(tail) == TRAILER.size and tail[:4] == MAGIC:
                    _, index, sent = TRAILER.unpack(tail)
                    self.frames.setdefault(index, (sent, arrived))  # a retransmission is not a new arrival
            await handle(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle_rtp_packet  # type: ignore[method-assign]

    def delays_ms(self) -> list[float]:
        return [(arrived - sent) / 1e6 for sent, arrived in self.frames.values()]


def percentiles(delays: list[float]) -> dict[str, float]:
    if not delays:
        return {"count": 0}
    values = np.array(delays)
    return {
        "count": len(delays),
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "p99_ms": round(float(np.percentile(values, 99)), 2),
        "max_ms": round(float(values.max()), 2),
    }


async def through_sfu(
    port: int, topology: load.Topology, frames: list[bytes], server_pid: int, settings: load.LoadSettings
) -> dict[str, Any]:
    use_host_addresses((LOOPBACK,))
    meeting = load.Meeting(topology, frames, track_factory=StampedVideoTrack)
    logs = {pid: ArrivalLog() for pid in meeting.clients if pid not in meeting.tracks}
    try:
        await meeting.join(port)
        flowing = await meeting.wait_flowing(settings.flow_timeout_s)
        for pid, log in logs.items():
            for transceiver in meeting.clients[pid].pc.getTransceivers():
                log.watch(transceiver.receiver)
        await asyncio.sleep(settings.warmup_s)
        for log in logs.values():
            log.recording = True
        await asyncio.sleep(settings.window_s)
    finally:
        await meeting.close()
    return {"flowing_streams": flowing, "delays_ms": [d for log in logs.values() for d in log.delays_ms()]}


def sfu_load_main(
    port: int, topology: load.Topology, frames: list[bytes], server_pid: int, settings: load.LoadSettings, out: Any
) -> None:
    """Load-process entry point for the SFU path (``runner.run_once``'s ``load_target``)."""
    logging.basicConfig(level=logging.WARNING)
    try:
        out.send(asyncio.run(through_sfu(port, topology, frames, server_pid, settings)))
    except Exception:
        out.send({"error": traceback.format_exc()})
    finally:
        out.close()


async def direct(subscribers: int, frames: list[bytes], settings: load.LoadSettings) -> dict[str, Any]:
    """One publisher with a direct peer connection to each subscriber, all in this process: no server."""
    use_host_addresses((LOOPBACK,))
    pairs: list[tuple[RTCPeerConnection, RTCPeerConnection]] = []
    logs: list[ArrivalLog] = []
    try:
        for _ in range(subscribers):
            sender, receiver = RTCPeerConnection(), RTCPeerConnection()
            pairs.append((sender, receiver))
            sender.addTrack(StampedVideoTrack(frames))  # a sender pulls its own frames: one track each
            await sender.setLocalDescription(await sender.createOffer())
            await receiver.setRemoteDescription(sender.localDescription)
            transceiver = receiver.getTransceivers()[0]
            transceiver.receiver._RTCRtpReceiver__decoder_queue = _Discard()  # type: ignore[attr-defined]
            log = ArrivalLog()
            log.watch(transceiver.receiver)
            logs.append(log)
            await receiver.setLocalDescription(await receiver.createAnswer())
            await sender.setRemoteDescription(RTCSessionDescription(sdp=receiver.localDescription.sdp, type="answer"))
        deadline = time.monotonic() + settings.flow_timeout_s
        while time.monotonic() < deadline and not all(r.connectionState == "connected" for _, r in pairs):
            await asyncio.sleep(0.1)
        await asyncio.sleep(settings.warmup_s)
        for log in logs:
            log.recording = True
        await asyncio.sleep(settings.window_s)
    finally:
        for sender, receiver in pairs:
            await sender.close()
            await receiver.close()
    return {"delays_ms": [d for log in logs for d in log.delays_ms()]}


class _Discard:
    """Stands in for a receiver's decoder queue: nothing is decoded."""

    def put(self, item: Any) -> None:
        pass

    def get(self) -> None:
        return None


def direct_main(subscribers: int, frames: list[bytes], settings: load.LoadSettings, out: Connection) -> None:
    logging.basicConfig(level=logging.WARNING)
    try:
        out.send(asyncio.run(direct(subscribers, frames, settings)))
    except Exception:
        out.send({"error": traceback.format_exc()})
    finally:
        out.close()


def run_direct(subscribers: int, frames: list[bytes], settings: load.LoadSettings) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    result_in, result_out = context.Pipe(duplex=False)
    process = context.Process(target=direct_main, args=(subscribers, frames, settings, result_out), daemon=True)
    process.start()
    result_out.close()
    timeout = settings.flow_timeout_s + settings.warmup_s + settings.window_s + 30
    try:
        if not result_in.poll(timeout):
            raise RuntimeError(f"the direct latency run gave no result within {timeout:.0f} s")
        raw: dict[str, Any] = result_in.recv()
    finally:
        process.join(10)
        if process.is_alive():
            process.kill()
    if "error" in raw:
        raise RuntimeError(raw["error"])
    return raw


def run(subscribers: int, window_s: float, warmup_s: float = 2.0) -> dict[str, Any]:
    """Latency through the SFU (one publisher to ``subscribers``) and directly, in one run."""
    frames = camera_like_vp8()
    settings = load.LoadSettings(warmup_s=warmup_s, window_s=window_s)
    topology = load.Topology(1, subscribers)
    sfu = run_once("forwarding", topology, frames, settings, load_target=sfu_load_main)
    if "error" in sfu:
        raise RuntimeError(sfu["error"])
    baseline = run_direct(subscribers, frames, settings)
    through, without = percentiles(sfu["delays_ms"]), percentiles(baseline["delays_ms"])
    added = {
        key: round(through[key] - without[key], 2)
        for key in ("p50_ms", "p95_ms", "p99_ms")
        if key in through and key in without
    }
    return {
        "meeting": topology.label,
        "window_s": window_s,
        "through_sfu": through,
        "direct": without,
        "added": added,
        "target_added_p99_ms": TARGET_P99_MS,
        "met": bool(added) and added["p99_ms"] < TARGET_P99_MS,
        "delays_ms": {"through_sfu": sfu["delays_ms"], "direct": baseline["delays_ms"]},
    }
