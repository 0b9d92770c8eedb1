"""SFU building blocks: SDP rewrites, keyframe detection, forwarding gates, aiortc checks."""

from __future__ import annotations

import asyncio

import pytest

from sessions_app.sfu import compat
from sessions_app.sfu.forwarding import ForwardingTrack
from sessions_app.sfu.frames import TappedFrame
from sessions_app.sfu.published import PublishedTrack
from sessions_app.sfu.sdp import announce_address, share_bundle_candidates
from sessions_app.sfu.vp8 import is_keyframe_payload

from .sfu_fakes import FrameCollector
from .sfu_fakes import encoded_frame as frame

BROWSER_ANSWER = "\r\n".join(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0 1",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "a=mid:0",
        "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host",
        "a=end-of-candidates",
        "m=video 9 UDP/TLS/RTP/SAVPF 96",
        "a=mid:1",
        "",
    ]
)


def test_bundle_candidates_are_copied_to_every_bundled_section() -> None:
    """The first section's candidates reach the others, so aiortc checks the right port."""
    rewritten = share_bundle_candidates(BROWSER_ANSWER)
    video = rewritten.split("m=video")[1]
    assert "a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host" in video
    assert rewritten.count("a=candidate:") == 2


def test_sdp_without_bundle_is_left_alone() -> None:
    sdp = BROWSER_ANSWER.replace("a=group:BUNDLE 0 1\r\n", "")
    assert share_bundle_candidates(sdp) == sdp


def test_announced_address_replaces_host_candidates() -> None:
    """Behind NAT our host candidates carry CALLS_MEDIA_ANNOUNCED_IP."""
    sdp = "c=IN IP4 10.0.0.5\r\na=candidate:x 1 udp 2130706431 10.0.0.5 40000 typ host\r\n"
    rewritten = announce_address(sdp, "203.0.113.7")
    assert "10.0.0.5" not in rewritten
    assert "203.0.113.7 40000 typ host" in rewritten
    assert announce_address(sdp, "") == sdp


def test_vp8_keyframe_bit() -> None:
    assert is_keyframe_payload(b"\x10\x02") is True
    assert is_keyframe_payload(b"\x11\x02") is False
    assert is_keyframe_payload(b"") is False


async def test_video_subscriber_starts_on_a_keyframe_and_asks_for_one() -> None:
    """Until a keyframe arrives, a video subscriber forwards nothing and keeps asking the publisher."""
    published = PublishedTrack("video", "pub")
    requests: list[int] = []

    async def send_pli(ssrc: int) -> None:
        requests.append(ssrc)

    published.bind_pli_sender(send_pli)
    published.layer(0).bind(1234)
    track = ForwardingTrack("video")
    track.attach(published)
    collector = FrameCollector()
    track.push(frame(keyframe=True))
    assert collector.frames == [], "nothing is sent before the connection is up"
    track.start(collector)  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert requests == [1234], "a started subscriber asks for a keyframe"
    published.subscribers[0].push(frame(keyframe=False))
    assert collector.frames == []
    key, delta = frame(keyframe=True), frame(keyframe=False)
    track.push(key)
    track.push(delta)
    assert collector.frames == [key, delta] and track.frames_forwarded == 2
    track.stop()


async def test_subscriber_that_falls_behind_waits_for_the_next_keyframe() -> None:
    """A frame its backed-up socket refused is not followed by deltas: it resumes only at a keyframe."""
    published = PublishedTrack("video", "pub")
    track = ForwardingTrack("video")
    track.attach(published)
    collector = FrameCollector()
    track.start(collector)  # type: ignore[arg-type]
    track.push(frame(keyframe=True))
    collector.backed_up = True
    track.push(frame(keyframe=False))
    collector.backed_up = False
    track.push(frame(keyframe=False))
    assert len(collector.frames) == 1
    resumed = frame(keyframe=True)
    track.push(resumed)
    assert collector.frames[-1] is resumed
    track.stop()


async def test_audio_is_sent_from_the_first_packet_and_a_stopped_track_sends_nothing() -> None:
    """Audio needs no keyframe; once stopped (its sender ended), a track forwards nothing more."""
    published = PublishedTrack("audio", "pub")
    track = ForwardingTrack("audio")
    track.attach(published)
    collector = FrameCollector()
    track.start(collector)  # type: ignore[arg-type]
    published.on_frame(TappedFrame([b"opus"], 960))
    assert [f.payloads for f in collector.frames] == [[b"opus"]]
    track.stop()
    published.on_frame(TappedFrame([b"opus"], 1920))
    assert len(collector.frames) == 1 and published.subscribers == []


async def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    """Frames are sent from the publisher's receiving task: one subscriber's error stays its own."""

    class Broken(FrameCollector):
        def send(self, frame):  # type: ignore[no-untyped-def]
            raise OSError("boom")

    published = PublishedTrack("audio", "pub")
    broken, healthy = ForwardingTrack("audio"), ForwardingTrack("audio")
    collector = FrameCollector()
    for track, sender in ((broken, Broken()), (healthy, collector)):
        track.attach(published)
        track.start(sender)  # type: ignore[arg-type]
    published.on_frame(TappedFrame([b"opus"], 960))
    assert len(collector.frames) == 1
    broken.stop()
    healthy.stop()


def test_aiortc_internals_are_where_the_sfu_expects() -> None:
    """The start-up check passes on the pinned aiortc."""
    compat.check_aiortc_internals()


def test_moved_internals_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """If aiortc's private names move, the SFU refuses to start with a clear message."""
    monkeypatch.setattr(compat.aiortc, "__version__", "9.9.9")
    with pytest.raises(compat.AiortcIncompatible, match=r"9\.9\.9"):
        compat.check_aiortc_internals()


def test_a_sender_that_no_longer_runs_its_rtp_loop_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """PacketSender takes over RTCRtpSender._run_rtp: a send() that stops starting it is reported."""

    async def send(self: object, parameters: object) -> None:
        return None

    monkeypatch.setattr(compat.RTCRtpSender, "send", send)
    with pytest.raises(compat.AiortcIncompatible, match="no longer starts _run_rtp"):
        compat.check_aiortc_internals()


def test_configured_media_ips_are_the_host_candidates() -> None:
    """CALLS_MEDIA_IPS decides where aioice gathers: loopback included, by address family."""
    from aioice import ice as aioice_ice

    from sessions_app.sfu.ice import use_host_addresses

    try:
        use_host_addresses(["127.0.0.1", "::1"])
        assert aioice_ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice_ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
        use_host_addresses([])
        assert "127.0.0.1" not in aioice_ice.get_host_addresses(use_ipv4=True, use_ipv6=False)
    finally:
        use_host_addresses([])


async def test_server_offers_carry_the_announced_address() -> None:
    """With CALLS_MEDIA_ANNOUNCED_IP set, the SDP the browser gets names the public address."""
    from sessions_app.sfu import SFU, MediaConfig, MediaEvent, Offer

    offers: list[MediaEvent] = []

    async def send_signal(event: MediaEvent) -> None:
        offers.append(event)

    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",), announced_ip="203.0.113.9"))
    try:
        await sfu.join("room", "ann", send_signal)
        offer = offers[0]
        assert isinstance(offer, Offer)
        assert "203.0.113.9" in offer.sdp and " 127.0.0.1 " not in offer.sdp
        assert offer.publish == {"audio": "0", "video": "1"}
    finally:
        await sfu.close_all()


def test_held_back_track_forwards_nothing_and_resumes_at_a_keyframe() -> None:
    """A muted (or moderated) publisher's frames reach no subscriber; video resumes at a keyframe."""
    published = PublishedTrack("video", "pub")
    track = ForwardingTrack("video")
    track.attach(published)
    collector = FrameCollector()
    track.start(collector)  # type: ignore[arg-type]
    published.on_frame(TappedFrame([b"\x10\x00"], 0, is_keyframe=True))
    assert len(collector.frames) == 1
    published.set_forwarding(False)
    published.on_frame(TappedFrame([b"\x10\x00"], 1, is_keyframe=True))
    assert len(collector.frames) == 1
    published.set_forwarding(True)
    published.on_frame(TappedFrame([b"\x10\x01"], 2, is_keyframe=False))
    assert len(collector.frames) == 1, "after resuming, video waits for a keyframe"
    published.on_frame(TappedFrame([b"\x10\x00"], 3, is_keyframe=True))
    assert len(collector.frames) == 2
    track.stop()


async def test_a_new_publisher_ssrc_restarts_subscribers_at_a_keyframe() -> None:
    """When the publisher's SSRC changes (a restarted screen share), PLIs follow it and subscribers resync."""
    from aiortc.rtp import RtpPacket

    from sessions_app.sfu.receive import VideoReceivePath

    from .sfu_fakes import FakeReceiver

    def packet(ssrc: int, sequence: int, keyframe: bool) -> RtpPacket:
        rtp = RtpPacket(payload_type=96, sequence_number=sequence, timestamp=sequence * 3000, ssrc=ssrc, marker=True)
        rtp.payload = b"\x10" + (b"\x00" if keyframe else b"\x01")
        return rtp

    published = PublishedTrack("video", "pub", "screen")
    receiver = FakeReceiver()
    path = VideoReceivePath(receiver, published)  # type: ignore[arg-type]
    published.bind_pli_sender(receiver.send_pli)
    track = ForwardingTrack("video")
    track.attach(published)
    collector = FrameCollector()
    track.start(collector)  # type: ignore[arg-type]
    await path.handle(packet(111, 1, keyframe=True), 0)  # the first SSRC is learnt
    await path.handle(packet(111, 2, keyframe=False), 0)
    assert published.layer(0).ssrc == 111 and len(collector.frames) == 2
    await path.handle(packet(222, 7, keyframe=False), 0)
    await asyncio.sleep(0)
    assert published.layer(0).ssrc == 222 and track._awaiting_keyframe, "subscribers wait for a keyframe"
    assert receiver.plis[-1] == 222 and len(collector.frames) == 2
    await path.handle(packet(222, 8, keyframe=True), 0)
    assert len(collector.frames) == 3
    track.stop()


async def test_late_joiners_get_only_live_sources_and_each_once() -> None:
    """A stopped screen share is not forwarded to someone who joins later; no source is subscribed twice."""
    from sessions_app.sfu import SFU, MediaConfig

    async def ignore(message: dict[str, object]) -> None:
        return None

    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",)))
    try:
        await sfu.join("room", "ann", ignore)
        room = sfu.rooms["room"]
        ann = room.peers["ann"]
        ann.start_publishing("screen")
        ann.stop_publishing("screen")
        await sfu.join("room", "bob", ignore)
        bob = room.peers["bob"]
        assert sorted(s.source for s in bob.subscriptions if s.publisher_id == "ann") == ["audio", "video"]
        await room.start_publishing("ann", "screen")
        bob.subscribe(ann.published["screen"])
        sources = sorted(s.source for s in bob.subscriptions if s.publisher_id == "ann")
        assert sources == ["audio", "screen", "video"]
    finally:
        await sfu.close_all()


async def test_a_join_beside_a_peer_the_browser_closed_still_works() -> None:
    """
    A participant whose browser closed its peer connection (aiortc then closes ours) may still be in
    the room until signaling notices; someone joining meanwhile must still get in.
    """
    from sessions_app.sfu import SFU, MediaConfig

    async def ignore(message: dict[str, object]) -> None:
        return None

    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",)))
    try:
        await sfu.join("room", "ann", ignore)
        room = sfu.rooms["room"]
        await room.peers["ann"].pc.close()  # as aiortc does when the browser's DTLS says goodbye
        await sfu.join("room", "bob", ignore)
        bob = room.peers["bob"]
        assert sorted(s.source for s in bob.subscriptions if s.publisher_id == "ann") == ["audio", "video"]
        assert room.peers["ann"].subscriptions == []
    finally:
        await sfu.close_all()


async def test_subscriptions_carry_no_receive_bandwidth_estimator() -> None:
    """
    No receiver gets aiortc's per-packet bandwidth estimator: a sendonly subscription receives
    nothing, and a publisher's video gets its REMB from the SFU's own receive path.
    """
    from aiortc import rtcrtpreceiver
    from aiortc.rate import RemoteBitrateEstimator

    from sessions_app.sfu.config import MediaConfig
    from sessions_app.sfu.peer import ParticipantPeer

    async def send_signal(message: dict[str, object]) -> None:
        pass

    config = MediaConfig(media_ips=("127.0.0.1",))
    ann = ParticipantPeer("ann", ("video",), config, send_signal)
    bob = ParticipantPeer("bob", ("video",), config, send_signal)
    try:
        bob.subscribe(ann.published["video"])
        estimator = "_RTCRtpReceiver__remote_bitrate_estimator"
        subscription_receiver = bob.subscriptions[0].transceiver.receiver
        assert getattr(subscription_receiver, estimator) is None
        # Nor a decoder queue and events of its own: subscriptions share stand-ins that are never used.
        carol = ParticipantPeer("carol", ("video",), config, send_signal)
        carol.subscribe(ann.published["video"])
        for name in ("decoder_queue", "decoder_error", "rtcp_started", "rtcp_exited"):
            attribute = f"_RTCRtpReceiver__{name}"
            assert getattr(subscription_receiver, attribute) is getattr(
                carol.subscriptions[0].transceiver.receiver, attribute
            )
        await carol.close()
        publishing = bob._publish_transceivers["video"].receiver
        assert getattr(publishing, estimator) is None
        assert rtcrtpreceiver.RemoteBitrateEstimator is RemoteBitrateEstimator  # put back
    finally:
        await ann.close()
        await bob.close()


async def test_closed_peer_connections_are_collected_in_batches() -> None:
    """
    A closed connection is reference cycles only a full collection frees; the collector runs those
    rarely in production (gc_tuning), so the SFU collects once enough closed ones wait.
    """
    import gc

    from sessions_app.sfu.config import MediaConfig
    from sessions_app.sfu.peer import COLLECT_AFTER_CLOSED, ParticipantPeer, peer_connections

    async def ignore(message: dict[str, object]) -> None:
        pass

    def closed_waiting() -> int:
        return sum(1 for pc in peer_connections() if pc.connectionState == "closed")

    config = MediaConfig(media_ips=("127.0.0.1",))
    gc.collect()
    gc.disable()  # only the SFU's own collection may free them
    try:
        for index in range(COLLECT_AFTER_CLOSED - 1):
            await ParticipantPeer(f"early{index}", ("audio", "video"), config, ignore).close()
        assert closed_waiting() == COLLECT_AFTER_CLOSED - 1, "below the batch, nothing is collected"
        await ParticipantPeer("last", ("audio", "video"), config, ignore).close()
        assert closed_waiting() < COLLECT_AFTER_CLOSED - 1
    finally:
        gc.enable()
