"""
Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01).

Every packet the SFU sends a subscriber carries a transport-wide sequence number; the
subscriber's browser reports, about every 100 ms, when each one arrived (or that it did not).
From that the SFU reads what the link does now: how long packets wait in its queue (arrival
minus send time, over the smallest such delay seen lately) and how fast they get through. A
queue that grows says the link is full before any packet is lost, which is what lets a probe
stop before it costs the subscriber media. aiortc neither sends the sequence numbers nor reads
the feedback (it parses an RTCP transport feedback message as if it were a NACK and drops it).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator

TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
# The header extension ID we offer it under (aiortc's own are 1-3, the rid ones 10-11).
TRANSPORT_CC_ID = 5
RTCP_RTPFB = 205
TRANSPORT_FEEDBACK_FMT = 15
SEQUENCE_SPACE = 1 << 16
REFERENCE_TIME_MS = 64.0
DELTA_MS = 0.25
# The smallest delay seen over two windows of this long is the link's empty-queue delay.
BASELINE_WINDOW_S = 5.0
# The rate that got through is measured over the arrivals of this long (shorter: one burst's rate).
DELIVERY_WINDOW_MS = 1000.0


def transport_feedback(compound: bytes) -> Iterator[bytes]:
    """The feedback control information of each transport-wide feedback message in a compound RTCP packet."""
    position = 0
    end = len(compound)
    while position + 4 <= end:
        first, packet_type = compound[position], compound[position + 1]
        length = (int.from_bytes(compound[position + 2 : position + 4], "big") + 1) * 4
        if packet_type == RTCP_RTPFB and first & 0x1F == TRANSPORT_FEEDBACK_FMT and position + length <= end:
            yield compound[position + 12 : position + length]
        position += length


def parse_feedback(fci: bytes) -> list[tuple[int, float | None]]:
    """
    (sequence number, arrival time in ms on the subscriber's clock, or None if it did not arrive) for
    every packet one feedback message reports. Raises ValueError on a malformed message.
    """
    if len(fci) < 8:
        raise ValueError("transport feedback too short")
    base, count = struct.unpack_from("!HH", fci)
    reference = int.from_bytes(fci[4:7], "big", signed=True)
    position = 8
    symbols: list[int] = []
    while len(symbols) < count:
        if position + 2 > len(fci):
            raise ValueError("transport feedback ends inside its chunks")
        chunk = (fci[position] << 8) | fci[position + 1]
        position += 2
        if not chunk & 0x8000:
            symbols.extend([(chunk >> 13) & 0x3] * min(chunk & 0x1FFF, count - len(symbols)))
        elif not chunk & 0x4000:
            symbols.extend((chunk >> (13 - i)) & 0x1 for i in range(14))
        else:
            symbols.extend((chunk >> (12 - 2 * i)) & 0x3 for i in range(7))
    arrival = reference * REFERENCE_TIME_MS
    reports: list[tuple[int, float | None]] = []
    for index, symbol in enumerate(symbols[:count]):
        sequence = (base + index) % SEQUENCE_SPACE
        if symbol == 1:
            if position >= len(fci):
                raise ValueError("transport feedback ends inside its deltas")
            arrival += fci[position] * DELTA_MS
            position += 1
            reports.append((sequence, arrival))
        elif symbol == 2:
            if position + 2 > len(fci):
                raise ValueError("transport feedback ends inside its deltas")
            arrival += int.from_bytes(fci[position : position + 2], "big", signed=True) * DELTA_MS
            position += 2
            reports.append((sequence, arrival))
        else:
            reports.append((sequence, None))
    return reports


class SentPackets:
    """
    What one subscriber connection sent, by transport-wide sequence number: when and how big.
    ``stamp`` runs for every packet sent, so it only stores into preallocated lists.
    """

    __slots__ = ("next_sequence", "sent_at", "sizes")

    def __init__(self) -> None:
        self.next_sequence = 0
        self.sent_at = [0.0] * SEQUENCE_SPACE
        self.sizes = [0] * SEQUENCE_SPACE

    def stamp(self, now: float, size: int) -> int:
        sequence = self.next_sequence
        self.next_sequence = (sequence + 1) & 0xFFFF
        self.sent_at[sequence] = now
        self.sizes[sequence] = size
        return sequence


class LinkObservation:
    """
    What a subscriber's feedback says of its link: the queueing delay now (ms), the rate that got
    through (bit/s) over the last feedback messages, and the share of packets lost.
    """

    __slots__ = (
        "_arrivals",
        "_baseline",
        "_baseline_started",
        "_counts",
        "_previous_baseline",
        "delivered_bps",
        "loss",
        "queue_delay_ms",
        "reports",
    )

    def __init__(self) -> None:
        self.queue_delay_ms = 0.0
        self.delivered_bps = 0.0
        self.loss = 0.0
        self.reports = 0
        self._baseline = float("inf")
        self._previous_baseline = float("inf")
        self._baseline_started = 0.0
        self._arrivals: deque[tuple[float, int]] = deque()
        # (when, received, lost) per feedback message over the last DELIVERY_WINDOW_MS: loss over enough packets.
        self._counts: deque[tuple[float, int, int]] = deque()

    def observe(self, sent: SentPackets, reports: list[tuple[int, float | None]], now: float) -> None:
        """Take one feedback message's reports."""
        if now - self._baseline_started > BASELINE_WINDOW_S:
            self._previous_baseline, self._baseline = self._baseline, float("inf")
            self._baseline_started = now
        sent_at, sizes = sent.sent_at, sent.sizes
        received = lost = 0
        arrivals = self._arrivals
        delays = []
        for sequence, arrival in reports:
            if arrival is None:
                lost += 1
                continue
            received += 1
            arrivals.append((arrival, sizes[sequence]))
            delay = arrival - sent_at[sequence] * 1000
            delays.append(delay)
            if delay < self._baseline:
                self._baseline = delay
        counts = self._counts
        counts.append((now, received, lost))
        while now - counts[0][0] > DELIVERY_WINDOW_MS / 1000:
            counts.popleft()
        total_lost = sum(entry[2] for entry in counts)
        total = total_lost + sum(entry[1] for entry in counts)
        if total:
            self.loss = total_lost / total
        if not delays:
            return
        self.reports += 1
        baseline = min(self._baseline, self._previous_baseline)
        delays.sort()
        self.queue_delay_ms = delays[len(delays) // 2] - baseline
        newest = max(arrival for arrival, _ in arrivals)
        while arrivals and newest - arrivals[0][0] > DELIVERY_WINDOW_MS:
            arrivals.popleft()
        span_ms = newest - arrivals[0][0]
        if span_ms >= DELIVERY_WINDOW_MS / 4 and len(arrivals) > 2:
            # Bytes after the oldest packet in the window, over the time since it arrived.
            self.delivered_bps = (sum(size for _, size in arrivals) - arrivals[0][1]) * 8000 / span_ms
