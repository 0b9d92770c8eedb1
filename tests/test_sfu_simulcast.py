"""Simulcast in the SFU: layers told apart on receipt, one chosen per subscriber, and the link shared out."""

from __future__ import annotations

import itertools

from aiortc.rtp import RtpPacket

from sessions_app.sfu.bandwidth import (
    PUBLISHER_START_BPS,
    UPLINK_CONGESTION_LOSS,
    Demand,
    PublisherUplink,
    allocate,
)
from sessions_app.sfu.forwarding import ForwardingTrack
from sessions_app.sfu.frames import EncodedFrame, ntp_now
from sessions_app.sfu.published import PublishedTrack
from sessions_app.sfu.receive import VideoReceivePath
from sessions_app.sfu.sdp import ask_opus_resilience, offer_simulcast
from sessions_app.sfu.vp8 import parse_frame_info

from .sfu_fakes import FakeReceiver

FRAME_TICKS = 3000


def descriptor(picture_id: int, tl0: int, tid: int, keyframe: bool) -> bytes:
    """A VP8 frame's one packet: X, I (15-bit picture ID), L, T; then the VP8 header byte."""
    return bytes(
        [0x90, 0xE0, 0x80 | picture_id >> 8, picture_id & 0xFF, tl0, tid << 6 | 0x20, 0x00 if keyframe else 0x01]
    )


def layer_frame(layer: int, index: int, *, keyframe: bool = False, tid: int = 0, base_ts: int = 0) -> EncodedFrame:
    """Frame ``index`` of one layer: each layer has its own picture IDs, TL0PICIDX and RTP clock."""
    payload = descriptor(1000 * (layer + 1) + index, (50 * layer + index) & 0xFF, tid, keyframe)
    return EncodedFrame(
        [payload],
        base_ts + 1_000_000 * layer + index * FRAME_TICKS,
        keyframe,
        ntp_now() + index * (1 << 32) // 30,
        layer=layer,
        info=parse_frame_info(payload),
    )


class RewritingCollector:
    """Takes a subscription's frames as its sender would: stamped, each payload through the rewriter."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, bytes]] = []  # (layer, timestamp, first payload as sent)
        self.history_forgotten = 0

    def forget_history(self) -> None:
        self.history_forgotten += 1

    def send(self, frame: EncodedFrame, pts: int, rewriter: object = None) -> bool:
        payload = frame.payloads[0]
        if rewriter is not None:
            payload = rewriter.rewrite(payload)  # type: ignore[attr-defined]
        self.sent.append((frame.layer, pts, payload))
        return True


def subscriber_of(published: PublishedTrack) -> tuple[ForwardingTrack, RewritingCollector]:
    track = ForwardingTrack("video")
    track.attach(published)
    collector = RewritingCollector()
    track.start(collector)  # type: ignore[arg-type]
    return track, collector


def test_a_subscriber_moves_layers_on_keyframes_and_sees_one_continuous_stream() -> None:
    published = PublishedTrack("video", "pub")
    track, collector = subscriber_of(published)
    track.set_target(0)
    for index in range(3):
        for layer in range(3):
            track.push(layer_frame(layer, index, keyframe=index == 0))
    assert [layer for layer, _, _ in collector.sent] == [0, 0, 0]

    track.set_target(2)
    # Layer 2's deltas do not start it; layer 0 goes on until layer 2's keyframe.
    track.push(layer_frame(2, 3))
    track.push(layer_frame(0, 3))
    track.push(layer_frame(2, 4, keyframe=True))
    track.push(layer_frame(0, 4))
    track.push(layer_frame(2, 5))
    assert [layer for layer, _, _ in collector.sent] == [0, 0, 0, 0, 2, 2]
    assert track.layer_switches == 1

    pictures = [parse_frame_info(payload).picture_id for _, _, payload in collector.sent]  # type: ignore[union-attr]
    assert pictures == [1000, 1001, 1002, 1003, 1004, 1005], "picture IDs run on across the switch"
    tl0s = [parse_frame_info(payload).tl0picidx for _, _, payload in collector.sent]  # type: ignore[union-attr]
    assert tl0s == [0, 1, 2, 3, 4, 5]
    timestamps = [pts for _, pts, _ in collector.sent]
    steps = [(later - earlier) & 0xFFFFFFFF for earlier, later in itertools.pairwise(timestamps)]
    assert steps[:3] == [FRAME_TICKS] * 3 and steps[4] == FRAME_TICKS, "within a layer, its own clock"
    assert 0 < steps[3] < 10 * FRAME_TICKS, "the switch continues the timeline instead of jumping to layer 2's clock"


def test_moving_down_holds_the_bigger_layer_until_the_smaller_ones_keyframe() -> None:
    published = PublishedTrack("video", "pub")
    track, collector = subscriber_of(published)
    track.set_target(2)
    track.push(layer_frame(2, 0, keyframe=True))
    track.set_target(0)
    track.push(layer_frame(2, 1))
    track.push(layer_frame(0, 1))
    track.push(layer_frame(0, 2, keyframe=True))
    assert [layer for layer, _, _ in collector.sent] == [2, 0]
    assert collector.history_forgotten == 1, "the bigger layer's packets are not resent either"


def test_temporal_layers_above_the_target_are_dropped_and_picture_ids_close_the_gap() -> None:
    published = PublishedTrack("video", "pub")
    track, collector = subscriber_of(published)
    track.set_target(0, tid=0)
    pattern = [0, 2, 1, 2, 0, 2, 1, 2, 0]  # L1T3
    for index, tid in enumerate(pattern):
        track.push(layer_frame(0, index, keyframe=index == 0, tid=tid))
    infos = [parse_frame_info(payload) for _, _, payload in collector.sent]
    assert [info.tid for info in infos] == [0, 0, 0]  # type: ignore[union-attr]
    assert [info.picture_id for info in infos] == [1000, 1001, 1002]  # type: ignore[union-attr]
    # More temporal layers start at the next base-layer frame.
    track.set_target(0, tid=2)
    track.push(layer_frame(0, 9, tid=2))
    track.push(layer_frame(0, 10, tid=0))
    track.push(layer_frame(0, 11, tid=2))
    assert [parse_frame_info(p).tid for _, _, p in collector.sent[3:]] == [0, 2]  # type: ignore[union-attr]


def test_a_hidden_video_gets_nothing() -> None:
    published = PublishedTrack("video", "pub")
    track, collector = subscriber_of(published)
    track.set_target(None)
    track.push(layer_frame(0, 0, keyframe=True))
    assert collector.sent == []


def test_allocation_gives_everyone_a_base_then_steps_up_in_priority_order() -> None:
    screen = Demand(None, [(0, 0, 100.0), (0, 1, 150.0), (0, 2, 200.0)], (0, 0))  # type: ignore[arg-type]
    big = Demand(None, [(0, 2, 100.0), (1, 2, 300.0), (2, 2, 900.0)], (1, -1000))  # type: ignore[arg-type]
    small = Demand(None, [(0, 2, 100.0), (1, 2, 300.0)], (1, -10))  # type: ignore[arg-type]
    chosen, limited = allocate(300.0, [small, big, screen])
    assert chosen == [0, 0, 0] and limited, "below the sum of bases, everyone still gets one"
    chosen, limited = allocate(650.0, [small, big, screen])
    assert chosen == [0, 1, 2] and limited, "the screen first, then the bigger tile"
    chosen, limited = allocate(5000.0, [small, big, screen])
    assert chosen == [1, 2, 2] and not limited


async def test_the_receive_path_tells_simulcast_layers_apart_by_rid() -> None:
    published = PublishedTrack("video", "pub")
    receiver = FakeReceiver()
    path = VideoReceivePath(receiver, published)  # type: ignore[arg-type]
    frames: list[tuple[int, int]] = []
    published.on_frame = lambda tapped: frames.append((tapped.layer, tapped.timestamp))  # type: ignore[method-assign]

    def packet(ssrc: int, sequence: int, rid: str | None, *, rtx_of: str | None = None) -> RtpPacket:
        rtp = RtpPacket(payload_type=97 if rtx_of else 96, sequence_number=sequence, timestamp=sequence, ssrc=ssrc)
        rtp.marker = True
        rtp.extensions.rtp_stream_id = rid
        rtp.extensions.repaired_rtp_stream_id = rtx_of
        rtp.payload = b"\x10\x00vp8"
        return rtp

    for sequence, (ssrc, rid) in enumerate([(11, "q"), (22, "h"), (33, "f")]):
        await path.handle(packet(ssrc, 100 + sequence, rid), 0)
    assert [layer.ssrc for layer in published.layers] == [11, 22, 33]
    assert [layer for layer, _ in frames] == [0, 1, 2]
    # Once bound, a layer's packets need no rid; one lost packet is asked for again on that layer's SSRC.
    await path.handle(packet(22, 103, None), 0)
    assert receiver.nacks == [(22, [102])] and frames[-1][0] == 2, "103 waits for 102"
    # Its retransmission comes on an RTX SSRC named by repaired-rtp-stream-id; padding there is dropped.
    padding = packet(44, 1, None, rtx_of="h")
    padding.payload = b""
    await path.handle(padding, 0)
    repair = packet(44, 2, None, rtx_of="h")
    repair.payload = (102).to_bytes(2, "big") + b"\x10\x00vp8"
    repair.timestamp = 102  # a retransmission keeps its packet's timestamp
    await path.handle(repair, 0)
    assert frames[-1] == (1, 102), "the repair completes layer 1's waiting frame"
    assert [layer.ssrc for layer in published.layers] == [11, 22, 33]


def test_the_offer_asks_for_simulcast_and_opus_resilience() -> None:
    sdp = (
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=rtpmap:96 opus/48000/2\r\na=recvonly\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:1\r\na=recvonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:2\r\n"
    )
    offered = offer_simulcast(ask_opus_resilience(sdp), {"1": ("q", "h", "f")})
    assert "a=fmtp:96 minptime=10;useinbandfec=1;usedtx=1" in offered
    camera = offered.split("m=video")[1]
    assert "a=rid:q recv" in camera and "a=simulcast:recv q;h;f" in camera
    assert "a=simulcast" not in offered.split("m=video")[2], "only the camera's section"
    assert offer_simulcast(offered, {"1": ("q", "h", "f")}) == offered, "a repeated offer is left alone"


def test_a_publisher_is_told_a_generous_uplink_that_falls_only_with_loss() -> None:
    uplink = PublisherUplink()
    assert uplink.advertise(150_000, 0.0, 0.0) == PUBLISHER_START_BPS
    # The estimator's own falls (Python's event loop looks like queueing) move nothing without loss.
    assert uplink.advertise(90_000, 1.0, 0.0) > PUBLISHER_START_BPS
    grown = uplink.advertise(90_000, 1.5, 0.0)
    fallen = uplink.advertise(400_000, 2.0, UPLINK_CONGESTION_LOSS * 4)
    assert fallen < grown
    for second in range(3, 60):
        fallen = uplink.advertise(400_000, second / 2, UPLINK_CONGESTION_LOSS * 4)
    assert fallen == 400_000, "lasting loss brings it down to the estimator's figure"


async def test_payload_padding_of_an_old_packet_changes_nothing() -> None:
    """
    A repair of a packet whose frame already went out (Firefox 153 probes its uplink by sending one
    old packet again and again on RTX) is dropped: no frame is replayed and no picture loss reported.
    """
    published = PublishedTrack("video", "pub")
    path = VideoReceivePath(FakeReceiver(), published)  # type: ignore[arg-type]
    frames: list[int] = []
    losses: list[int] = []
    published.on_frame = lambda tapped: frames.append(tapped.timestamp)  # type: ignore[method-assign]
    published.on_upstream_loss = lambda layer: losses.append(layer.index)  # type: ignore[method-assign]

    def media(sequence: int) -> RtpPacket:
        rtp = RtpPacket(payload_type=96, sequence_number=sequence, timestamp=sequence * 3000, ssrc=11)
        rtp.marker = True
        rtp.extensions.rtp_stream_id = "q"
        rtp.payload = b"\x10\x00vp8"
        return rtp

    for sequence in range(100, 300):
        await path.handle(media(sequence), 0)
    padding = RtpPacket(payload_type=97, sequence_number=1, timestamp=150 * 3000, ssrc=44)
    padding.extensions.repaired_rtp_stream_id = "q"
    padding.marker = True
    padding.payload = (150).to_bytes(2, "big") + b"\x10\x00vp8"
    await path.handle(padding, 0)
    await path.handle(media(300), 0)
    assert frames == [sequence * 3000 for sequence in range(100, 301)]
    assert losses == []


async def test_the_publisher_is_told_its_uplink_twice_a_second_with_every_layer_named() -> None:
    from aiortc.rtp import RTCP_PSFB_APP, unpack_remb_fci

    published = PublishedTrack("video", "pub")
    receiver = FakeReceiver()
    receiver._RTCRtpReceiver__rtcp_ssrc = 1234
    path = VideoReceivePath(receiver, published)  # type: ignore[arg-type]
    for index in range(30):  # 30 packets a layer, 50 ms apart: 1.5 s
        for ssrc, rid in ((11, "q"), (22, "h")):
            rtp = RtpPacket(payload_type=96, sequence_number=index, timestamp=index * 4500, ssrc=ssrc, marker=True)
            rtp.extensions.rtp_stream_id = rid
            rtp.payload = b"\x10\x01" + bytes(500)
            await path.handle(rtp, 1_000_000 + index * 50)
    rembs = [unpack_remb_fci(p.fci) for p in receiver.rtcp if p.fmt == RTCP_PSFB_APP]  # type: ignore[attr-defined]
    assert len(rembs) == 3, "at the first packet, then every 500 ms"
    assert rembs[0][0] == PUBLISHER_START_BPS and sorted(rembs[-1][1]) == [11, 22]


def test_a_screen_share_keeps_its_resolution_and_gives_up_frame_rate() -> None:
    """A screen is one layer: the steps a viewer can be given are its temporal layers, never a smaller picture."""
    import time as clock

    from sessions_app.sfu.bandwidth import View, layer_steps

    screen = PublishedTrack("video", "pub", "screen")
    layer = screen.layer(0)
    layer.bind(77)
    layer.width, layer.height = 1920, 1080
    layer.rates_by_tid[:] = [400_000.0, 200_000.0, 200_000.0]
    steps = layer_steps(screen, View(320, 180), clock.monotonic())
    assert [(spatial, tid) for spatial, tid, _ in steps] == [(0, 0), (0, 1), (0, 2)]
    assert [rate for _, _, rate in steps] == [400_000.0, 600_000.0, 800_000.0]
    chosen, limited = allocate(500_000.0, [Demand(None, steps, (0, 0))])  # type: ignore[arg-type]
    assert chosen == [0] and limited, "under pressure: the base frame rate at full resolution"
