"""Transport-wide congestion control: the feedback read, the link it describes, and what the SFU does with it."""

from __future__ import annotations

import struct

import pytest

from sessions_app.sfu.bandwidth import CONGESTION_BACKOFF, SubscriberBandwidth
from sessions_app.sfu.sdp import accepts_transport_cc, offer_transport_cc
from sessions_app.sfu.twcc import (
    TRANSPORT_CC_ID,
    TRANSPORT_CC_URI,
    LinkObservation,
    SentPackets,
    parse_feedback,
    transport_feedback,
)


def feedback_fci(base: int, symbols: list[int], deltas_ms: list[float], reference_ms: int = 64 * 10) -> bytes:
    """A feedback message's FCI: one run-length chunk per run of equal symbols, then the deltas."""
    chunks = b""
    index = 0
    while index < len(symbols):
        run = 1
        while index + run < len(symbols) and symbols[index + run] == symbols[index]:
            run += 1
        chunks += struct.pack("!H", symbols[index] << 13 | run)
        index += run
    deltas = b""
    for delta in deltas_ms:
        ticks = round(delta / 0.25)
        deltas += bytes([ticks]) if 0 <= ticks <= 255 else struct.pack("!h", ticks)
    header = struct.pack("!HH", base, len(symbols)) + (reference_ms // 64).to_bytes(3, "big") + b"\x07"
    return header + chunks + deltas


def test_feedback_reports_each_packet_arrival_or_loss() -> None:
    fci = feedback_fci(65534, [1, 1, 0, 2], [1.0, 2.5, 300.0])
    assert parse_feedback(fci) == [(65534, 641.0), (65535, 643.5), (0, None), (1, 943.5)]


def test_feedback_status_vectors_are_read() -> None:
    # A two-bit status vector chunk: received small, not received, received small, then padding symbols.
    chunk = 0xC000 | 1 << 12 | 0 << 10 | 1 << 8
    fci = struct.pack("!HH", 10, 3) + (1).to_bytes(3, "big") + b"\x00" + struct.pack("!H", chunk) + b"\x04\x08"
    assert parse_feedback(fci) == [(10, 65.0), (11, None), (12, 67.0)]
    with pytest.raises(ValueError):
        parse_feedback(fci[:-1])


def test_feedback_is_found_in_a_compound_rtcp_packet() -> None:
    fci = feedback_fci(5, [1], [1.0])
    while len(fci) % 4:
        fci += b"\x00"
    feedback = bytes([0x80 | 15, 205]) + struct.pack("!H", (12 + len(fci)) // 4 - 1) + b"\x00" * 8 + fci
    receiver_report = bytes([0x80, 201]) + struct.pack("!H", 1) + b"\x00" * 4
    assert list(transport_feedback(receiver_report + feedback)) == [fci]


def test_the_link_shows_its_queue_its_rate_and_its_loss() -> None:
    sent = SentPackets()
    link = LinkObservation()
    # 1,000-byte packets every 10 ms; the link delivers one every 20 ms (400 kbit/s): the queue grows.
    for sequence in range(100):
        sent.stamp(sequence * 0.010, 1000)
    reports = [(sequence, 50.0 + sequence * 20.0) for sequence in range(100)]
    for start in range(0, 100, 10):
        link.observe(sent, reports[start : start + 10], now=start * 0.02)
    assert link.delivered_bps == pytest.approx(400_000, rel=0.02)
    assert link.queue_delay_ms > 400, "the last packets waited about half a second more than the first"
    link.observe(sent, [(100 + i, None) for i in range(20)], now=2.0)
    assert link.loss == pytest.approx(20 / 70), "over the last second: 20 lost of 70"


async def test_a_full_queue_lowers_the_estimate_to_what_got_through() -> None:
    bandwidth = SubscriberBandwidth([])
    sent = bandwidth.use_transport_cc()
    for sequence in range(200):
        sent.stamp(sequence * 0.005, 1000)
    reports = [(sequence, sequence * 20.0) for sequence in range(200)]  # 400 kbit/s through, sent at 1.6 Mbit/s
    for start in range(0, 200, 10):
        bandwidth.on_transport_feedback(reports[start : start + 10])
    assert bandwidth.base_bps == pytest.approx(400_000 * CONGESTION_BACKOFF, rel=0.05)
    bandwidth.close()


def test_transport_cc_is_offered_only_on_what_the_sfu_sends() -> None:
    sdp = (
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
        "a=rtpmap:97 VP8/90000\r\na=recvonly\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:1\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
        "a=rtpmap:97 VP8/90000\r\na=sendonly\r\n"
    )
    offered = offer_transport_cc(sdp, {"1"}, TRANSPORT_CC_ID, TRANSPORT_CC_URI)
    publish, subscribe = offered.split("m=video")[1:]
    assert TRANSPORT_CC_URI not in publish and "transport-cc" not in publish
    assert f"a=extmap:{TRANSPORT_CC_ID} {TRANSPORT_CC_URI}" in subscribe and "a=rtcp-fb:97 transport-cc" in subscribe
    assert offer_transport_cc(offered, {"1"}, TRANSPORT_CC_ID, TRANSPORT_CC_URI) == offered
    assert accepts_transport_cc(offered, TRANSPORT_CC_URI) and not accepts_transport_cc(sdp, TRANSPORT_CC_URI)
