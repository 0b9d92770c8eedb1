"""
Per-subscriber bandwidth: what one participant's downlink carries, and which layers fit in it.

We keep one estimate per subscriber connection and share it among the videos it receives
(``allocate``): screen shares first, then bigger tiles; each gets its lowest layer's base frame
rate, then one step up at a time (more temporal layers, then the next spatial layer up to what its
tile shows) while the total fits.

What the estimate is made of, best first: transport-wide feedback (``twcc.py``: the browser says
when each packet arrived, so the queue on the link and the rate through it are seen directly), then
REMB where a browser sends it (Chromium 156 does not send us any), then the share of packets the
subscriber asks for again (NACK) and its receiver reports' loss. A full link (a queue over
CONGESTION_QUEUE_MS, or loss over CONGESTION_LOSS) brings the estimate down to what got through.
Moving up is proved by probing: padding on the RTX stream up to the next step (PROBE_OVERSHOOT
over it) for PROBE_DURATION_S, stopped as soon as the queue grows; if it held, that rate fits.

Also here: ``PublisherUplink``, the figure each publisher's browser is told its uplink carries.
Nothing here looks at media: a publisher's layer rates are measured from the bytes it sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .twcc import LinkObservation, SentPackets

if TYPE_CHECKING:
    from .forwarding import ForwardingTrack
    from .peer import Subscription
    from .published import PublishedTrack
    from .sender import PacketSender

# What a new subscriber is assumed to take before anything is known of its link.
INITIAL_ESTIMATE_BPS = 1_000_000
# Allocate at most this share of the estimate: keyframes and bursts need room.
HEADROOM = 0.9
# Random loss below this is a lossy link, not a full one (GCC holds its rate between 2 and 10 %).
CONGESTION_LOSS = 0.1
# A subscriber that asks for more than this share of what it was sent again (NACK) is losing packets to a full queue.
CONGESTION_NACKS = 0.1
# After congestion, the estimate is what got through, less this margin for the queue to drain.
CONGESTION_BACKOFF = 0.85
MAX_COUNTED_LOSS = 0.9
# A probe tries at most this multiple of what is allocated (a step further at least): two probes
# take a subscriber from the lowest layer to the top one once its link allows.
PROBE_REACH = 3.0
PROBE_GRACE_S = 1.0
DECREASE_HOLDOFF_S = 1.0
# With transport-wide feedback: a link whose queue holds packets this long (smoothed) is full; a probe
# stops when one feedback's queue grows this much over what it was before the probe.
CONGESTION_QUEUE_MS = 150.0
PROBE_ABORT_QUEUE_MS = 50.0
# A probe stops when loss rises this much over what it was (a lossy link loses packets probe or not).
PROBE_ABORT_LOSS = 0.05
QUEUE_SMOOTHING = 0.3
TWCC_HOLDOFF_S = 0.5
REMB_FALL = 0.97
LOSS_MEMORY_S = 2.0
# A probe sends this much more than the step it tries: a link that only just carries a layer is not proved.
PROBE_OVERSHOOT = 1.25
PROBE_DURATION_S = 0.6
PROBE_INTERVAL_S = 0.025
PROBE_SETTLE_S = 0.3
PROBE_BACKOFF_MIN_S = 0.5
PROBE_BACKOFF_MAX_S = 8.0
TICK_S = 0.5
# NACKs are counted over at least this long (a probe reads them this often).
MEASURE_MIN_S = 0.15
# A layer's rate before it has been measured: LiveKit's defaults for 180p, 360p and 720p.
DEFAULT_LAYER_BPS = (150_000, 500_000, 1_500_000)
DEFAULT_TEMPORAL_SHARE = (0.5, 0.75, 1.0)
MIN_STEP_BPS = 20_000
# Nominal heights of the camera's layers, until a keyframe says (a tile this tall or less needs no more).
NOMINAL_LAYER_HEIGHTS = (180, 360, 720)
TILE_MARGIN = 0.85
ALL_TEMPORAL = 2


class DownlinkFeedback(Protocol):
    """What a subscription's sender reports of the subscriber's link."""

    def on_remb(self, bitrate: float) -> None: ...

    def on_loss(self, fraction: float) -> None: ...


@dataclass(slots=True)
class View:
    """How big a subscriber shows a video (device pixels); 0 x 0: not at all (hidden, off screen)."""

    width: int
    height: int

    @property
    def hidden(self) -> bool:
        return self.width <= 0 or self.height <= 0


@dataclass(slots=True)
class Demand:
    """One video a subscriber receives, as the allocation sees it."""

    track: ForwardingTrack
    steps: Sequence[tuple[int, int, float]]  # (layer, temporal layer, bit rate), cheapest first
    priority: tuple[int, int]


def layer_steps(source: PublishedTrack, view: View | None, now: float) -> list[tuple[int, int, float]]:
    """The (layer, temporal layer, rate) steps of ``source`` a subscriber can get, cheapest first, up to its view."""
    layers = source.active_layers(now)
    if not layers:
        return []
    cap = len(layers) - 1
    if view is not None and len(layers) > 1:
        for position, layer in enumerate(layers):
            height = layer.height or NOMINAL_LAYER_HEIGHTS[min(layer.index, len(NOMINAL_LAYER_HEIGHTS) - 1)]
            if height >= view.height * TILE_MARGIN:
                cap = position
                break
    steps = []
    for position, layer in enumerate(layers[: cap + 1]):
        default = DEFAULT_LAYER_BPS[min(layer.index, len(DEFAULT_LAYER_BPS) - 1)]
        measured = layer.rate_up_to(ALL_TEMPORAL)
        temporal = range(ALL_TEMPORAL + 1) if position == 0 else (ALL_TEMPORAL,)
        for tid in temporal:
            rate = layer.rate_up_to(tid) if measured else default * DEFAULT_TEMPORAL_SHARE[tid]
            steps.append((layer.index, tid, max(rate, MIN_STEP_BPS)))
    return steps


def allocate(budget: float, demands: Sequence[Demand]) -> tuple[list[int], bool]:
    """
    The step each demand gets (an index into its steps, -1: none) within ``budget``, and whether
    any was held below what it asked for. Everyone gets their first step; then, in priority
    order, one step up at a time while the total fits.
    """
    chosen = [0 if demand.steps else -1 for demand in demands]
    total = sum(demand.steps[0][2] for demand in demands if demand.steps)
    order = sorted(range(len(demands)), key=lambda index: demands[index].priority)
    upgraded = True
    while upgraded:
        upgraded = False
        for index in order:
            steps = demands[index].steps
            step = chosen[index]
            if step < 0 or step + 1 >= len(steps):
                continue
            extra = steps[step + 1][2] - steps[step][2]
            if total + extra <= budget:
                chosen[index] = step + 1
                total += extra
                upgraded = True
    limited = any(0 <= chosen[i] < len(d.steps) - 1 for i, d in enumerate(demands))
    return chosen, limited


class SubscriberBandwidth:
    """
    One subscriber connection's downlink estimate, the allocation of its videos, and its probes.

    ``subscriptions`` is the peer's list (read live); each entry has ``track``, ``packet_sender``
    and ``view``. A task runs while the subscriber receives any video: every TICK_S it measures,
    reallocates and decides whether to probe; feedback that signals congestion reallocates at once.
    """

    def __init__(self, subscriptions: list[Subscription]) -> None:
        self._subscriptions = subscriptions
        self.remb: float | None = None
        self.base_bps = float(INITIAL_ESTIMATE_BPS)
        self._media_bps = 0.0
        self._measured_at = time.monotonic()
        self._counted: tuple[int, int, int] | None = None
        self.loss = 0.0
        self._loss_at = -LOSS_MEMORY_S
        self._congested_at = -PROBE_BACKOFF_MAX_S
        self._allocated_bps = 0.0
        self._limited = False
        self._next_step_bps = 0.0
        self._probe_backoff = PROBE_BACKOFF_MIN_S
        self._next_probe_at = 0.0
        self._probe: asyncio.Task[None] | None = None
        self._probe_ended_at = -PROBE_GRACE_S
        self._decreased_at = -DECREASE_HOLDOFF_S
        # Transport-wide feedback, when the subscriber's browser sends it.
        self.sent_packets: SentPackets | None = None
        self.link = LinkObservation()
        self._queue_ms = 0.0
        self._queue_before_probe_ms = 0.0
        self._loss_before_probe = 0.0
        self._task: asyncio.Task[None] | None = None
        self._reallocation_pending = False
        self.probes = 0
        self.probes_won = 0

    # Feedback from the subscriber's browser.

    def on_remb(self, bitrate: float) -> None:
        previous = self.remb
        self.remb = bitrate
        if previous is not None and bitrate < previous * REMB_FALL:
            self._congested(time.monotonic())
        elif previous is None:
            self.reallocate_soon()

    def on_loss(self, fraction: float) -> None:
        now = time.monotonic()
        if fraction >= self.loss or now - self._loss_at > LOSS_MEMORY_S:
            self.loss = fraction
            self._loss_at = now
        if fraction > CONGESTION_LOSS and not self.link.reports:  # transport-wide feedback says more, sooner
            self._congested(now, fraction)

    def use_transport_cc(self) -> SentPackets:
        """The subscriber's browser sends transport-wide feedback: number packets for it (the senders write them)."""
        if self.sent_packets is None:
            self.sent_packets = SentPackets()
        return self.sent_packets

    def on_transport_feedback(self, reports: list[tuple[int, float | None]]) -> None:
        """
        One transport-wide feedback message: the queue on the subscriber's link and the rate through it.
        A growing queue stops a probe before it costs media; a full one (or loss) lowers the estimate to
        what got through, at most once per TWCC_HOLDOFF_S (the queue takes that long to drain).
        """
        sent = self.sent_packets
        if sent is None or not reports:
            return
        now = time.monotonic()
        link = self.link
        link.observe(sent, reports, now)
        queue = link.queue_delay_ms
        self._queue_ms += QUEUE_SMOOTHING * (queue - self._queue_ms)
        if self._probe is not None and not self._probe.done():
            if (
                queue > self._queue_before_probe_ms + PROBE_ABORT_QUEUE_MS
                or link.loss > self._loss_before_probe + PROBE_ABORT_LOSS
            ):
                self._congested_at = now
            return
        if self._queue_ms < CONGESTION_QUEUE_MS and link.loss <= CONGESTION_LOSS:
            return
        self._congested_at = now
        if now - self._probe_ended_at < PROBE_GRACE_S or now - self._decreased_at < TWCC_HOLDOFF_S:
            return
        if link.delivered_bps:
            self._decreased_at = now
            self.base_bps = max(min(self.base_bps, link.delivered_bps * CONGESTION_BACKOFF), MIN_STEP_BPS)
            self.reallocate_soon()

    def _congested(self, now: float, loss: float = 0.0) -> None:
        """
        The link is full: what it carries is at most what got through (what was sent, less what was
        lost), less a margin for its queue to drain; probes prove more again. Losses a probe caused
        (until PROBE_GRACE_S after it) fail the probe and lower nothing.
        """
        self._congested_at = now
        probing = (self._probe is not None and not self._probe.done()) or now - self._probe_ended_at < PROBE_GRACE_S
        # Losses reported within DECREASE_HOLDOFF_S of a decrease are of packets sent before it: one decrease each.
        if not probing and self._media_bps and now - self._decreased_at >= DECREASE_HOLDOFF_S:
            self._decreased_at = now
            delivered = self._media_bps * (1 - min(loss, MAX_COUNTED_LOSS))
            self.base_bps = max(min(self.base_bps, delivered * CONGESTION_BACKOFF), MIN_STEP_BPS)
        self.reallocate_soon()

    def estimate(self, now: float) -> float:
        """What the subscriber's link carries, as far as we know (bit/s)."""
        estimate = self.base_bps
        if self.remb is not None:
            estimate = min(estimate, max(self.remb, MIN_STEP_BPS))
        return estimate

    def _measure(self, now: float) -> None:
        """Read the senders' counters: media bit rate sent, and the share of packets reported lost (NACK)."""
        elapsed = now - self._measured_at
        if elapsed < MEASURE_MIN_S:
            return
        octets = packets = nacks = 0
        for subscription in self._subscriptions:
            sender = subscription.packet_sender
            if subscription.track.kind == "video" and sender is not None:
                octets += sender.octets_sent
                packets += sender.packets_sent
                nacks += sender.nacks
        counts = (octets, packets, nacks)
        before = self._counted or counts
        self._counted = counts
        self._measured_at = now
        sent_packets = counts[1] - before[1]
        self._media_bps = (counts[0] - before[0]) * 8 / elapsed
        nacked = counts[2] - before[2]
        if self.link.reports:
            return  # transport-wide feedback says more, sooner
        if sent_packets > 0 and nacked / sent_packets > CONGESTION_NACKS:
            self._congested(now, nacked / sent_packets)

    # Allocation.

    def views_changed(self) -> None:
        self.reallocate_soon()

    def reallocate_soon(self) -> None:
        """Reallocate once the current burst of feedback has been read (one allocation, however many reports)."""
        if self._reallocation_pending:
            return
        self._reallocation_pending = True
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().call_soon(self.reallocate)

    def reallocate(self) -> None:
        self._reallocation_pending = False
        now = time.monotonic()
        demands = []
        for subscription in self._subscriptions:
            track = subscription.track
            source = track.source
            if track.kind != "video" or source is None:
                continue
            view = subscription.view
            if view is not None and view.hidden:
                track.set_target(None)
                continue
            source.sample_rates(now)
            steps = layer_steps(source, view, now)
            if not steps:
                continue
            area = view.width * view.height if view is not None else 1 << 30
            demands.append(Demand(track, steps, (0 if source.is_screen else 1, -area)))
        budget = self.estimate(now) * HEADROOM
        chosen, self._limited = allocate(budget, demands)
        total = 0.0
        extra = None
        for demand, step in zip(demands, chosen, strict=True):
            layer, tid, rate = demand.steps[step]
            demand.track.set_target(layer, tid)
            total += rate
        for demand, step in zip(demands, chosen, strict=True):
            if extra is None and step + 1 < len(demand.steps):
                # The first held-back video's next step, or further up while within PROBE_REACH.
                rate = demand.steps[step][2]
                reach = max(demand.steps[step + 1][2], total * PROBE_REACH - (total - rate))
                extra = max(cost for _, _, cost in demand.steps[step + 1 :] if cost <= reach) - rate
        self._allocated_bps = total
        self._next_step_bps = total + extra if extra is not None else 0.0

    # The periodic task and probes.

    def ensure_running(self) -> None:
        """Start the periodic task (idempotent); it stops by itself when no video is received."""
        if self._task is None or self._task.done():
            with contextlib.suppress(RuntimeError):
                self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while any(s.track.kind == "video" and s.track.source is not None for s in self._subscriptions):
            self._measure(time.monotonic())
            self.reallocate()
            self._maybe_probe(time.monotonic())
            await asyncio.sleep(TICK_S)

    def _maybe_probe(self, now: float) -> None:
        if not self._limited or not self._next_step_bps or (self._probe is not None and not self._probe.done()):
            return
        if now < self._next_probe_at or now - self._congested_at < PROBE_BACKOFF_MIN_S:
            return
        sender = next(
            (
                s.packet_sender
                for s in self._subscriptions
                if s.track.kind == "video" and s.track.started and s.packet_sender is not None
            ),
            None,
        )
        if sender is None:
            return
        self.probes += 1
        self._probe = asyncio.get_running_loop().create_task(self._run_probe(sender, self._next_step_bps))

    async def _run_probe(self, sender: PacketSender, target_bps: float) -> None:
        """Pad the link up to ``target_bps`` (with overshoot) for a while; if it holds, the target fits."""
        started = time.monotonic()
        self._queue_before_probe_ms = self._queue_ms
        self._loss_before_probe = self.link.loss
        padding_bps = max(target_bps * PROBE_OVERSHOOT - self._allocated_bps, 0.0)
        owed = 0.0
        while time.monotonic() - started < PROBE_DURATION_S:
            self._measure(time.monotonic())
            if self._congested_at >= started:
                break  # the link is full already: every further byte costs the viewer media
            owed += padding_bps * PROBE_INTERVAL_S / 8
            count = int(owed // 255)
            if count:
                owed -= sender.send_padding(count) or owed
            await asyncio.sleep(PROBE_INTERVAL_S)
        await asyncio.sleep(PROBE_SETTLE_S)
        now = self._probe_ended_at = time.monotonic()
        self._measure(now)
        lossy = now - self._loss_at < LOSS_MEMORY_S and self.loss > CONGESTION_LOSS / 2 and not self.link.reports
        if self._congested_at >= started or lossy:
            self._probe_backoff = min(self._probe_backoff * 2, PROBE_BACKOFF_MAX_S)
            self._next_probe_at = now + self._probe_backoff
            return
        self.probes_won += 1
        # The link carried the probe's overshoot on top of the target without loss.
        self.base_bps = max(self.base_bps, target_bps * PROBE_OVERSHOOT)
        self._probe_backoff = PROBE_BACKOFF_MIN_S
        self._next_probe_at = now + PROBE_BACKOFF_MIN_S
        self.reallocate()

    def close(self) -> None:
        for task in (self._task, self._probe):
            if task is not None:
                task.cancel()


# What the SFU tells a publisher's browser its uplink carries (REMB). aiortc's estimator, like the
# receive-side estimator it ports, never says more than 1.5 times what it receives: a publisher
# whose top layer is off sends its two lower ones (0.5 Mbit/s or so) and is never told enough to
# turn the top one on (1.3 Mbit/s in all or more): a deadlock. And its delay-based overuse detector,
# timing packets in a Python event loop, sees queues that are the loop's own (a keyframe burst, a
# busy moment): alone it would turn top layers off for nothing. So the figure starts generous (a
# browser takes the first REMB of a call as its starting rate), follows the estimator down when
# the uplink really loses packets (UPLINK_CONGESTION_LOSS: the browser then turns its top layers
# off), and otherwise grows by UPLINK_GROWTH a second, as a sender-side estimator does while nothing
# is lost, up to PUBLISHER_MAX_BPS. The browser's own loss-based control acts on our receiver
# reports as well.
PUBLISHER_START_BPS = 2_500_000
PUBLISHER_MAX_BPS = 4_000_000
UPLINK_GROWTH = 1.08
UPLINK_CONGESTION_LOSS = 0.03
# Near where the uplink last lost packets the figure grows this slowly (GCC's "near max" increase).
UPLINK_GROWTH_NEAR_LOSS = 1.01
UPLINK_NEAR_LOSS = 0.9


class PublisherUplink:
    """The REMB figure one publisher is sent, from its receive-side estimate and loss (see above)."""

    __slots__ = ("_lossy_at_bps", "_updated", "value")

    def __init__(self) -> None:
        self.value: float | None = None
        self._updated = 0.0
        self._lossy_at_bps = 0.0

    def advertise(self, estimate: float, now: float, loss: float) -> int:
        if self.value is None:
            value = max(estimate, PUBLISHER_START_BPS)
        elif loss > UPLINK_CONGESTION_LOSS:
            self._lossy_at_bps = max(estimate, self.value * (1 - loss / 2))
            value = min(self.value, self._lossy_at_bps)
        else:
            near_loss = self._lossy_at_bps and self.value > self._lossy_at_bps * UPLINK_NEAR_LOSS
            growth = UPLINK_GROWTH_NEAR_LOSS if near_loss else UPLINK_GROWTH
            value = max(estimate, self.value * growth ** min(now - self._updated, 2.0))
        self.value = min(value, PUBLISHER_MAX_BPS)
        self._updated = now
        return int(self.value)
