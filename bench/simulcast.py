"""
Server CPU per forwarded video stream with simulcast on, as a ratio to single-layer forwarding.

``python -m bench.simulcast`` (``make bench``, ``python -m bench --only simulcast``): an
in-process micro-benchmark of the SFU's real media path, not an end-to-end run (aiortc cannot
send simulcast). One publisher to N subscribers, two cases measured alternately in one process:

- **single layer** (today's path): one VP8 stream, 640x480 at ~850 kbit/s;
- **simulcast**: three layers (320x180, 640x360, 1280x720 at 150, 500, 1,500 kbit/s, L1T3),
  the subscribers spread over them (and a quarter of them on two temporal layers of three), a
  third of them moving up one layer (the top ones to the bottom) at every keyframe, so the SFU
  receives three layers, forwards one per subscriber and rewrites picture IDs and TL0PICIDX.

SRTP datagrams written beforehand (``simulcast_media.py``) go through what the server does with
them: SRTP unprotect, ``RtpPacket.parse``, ``VideoReceivePath.handle`` (layers by rid/SSRC, NACK,
frame assembly, the REMB estimator), ``PublishedTrack.on_frame``, each ``ForwardingTrack.push``
and ``PacketSender.send`` (a new header, SRTP, ``sendto`` on a real UDP socket to a loopback
port nobody reads). Not included: the kernel's receive and aioice's demultiplexing of the
publisher's datagrams, RTCP, and event-loop wake-ups. CPU is this process's time over the
media fed as fast as it goes, per second of media and per stream. Results go to
bench/results/simulcast.md (committed) and simulcast.json (everything; local, git ignores it); see
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import pstats
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import forwarding
from .simulcast_media import FPS, SIMULCAST, SINGLE_LAYER, LayerSpec, publisher_packets
from .simulcast_world import Fanout

RESULTS = Path(__file__).resolve().parent / "results"
GOP = 60
WARMUP_S = 2.0
TARGET_RATIO = 1.5


@dataclass(frozen=True)
class CaseRun:
    """One measured pass of a case: the publisher's media fed once through the SFU to ``subscribers``."""

    case: str
    subscribers: int
    media_s: float
    cpu_s: float
    received_packets: int
    forwarded_packets: int
    forwarded_fps: float  # frames a second each subscriber was sent (mean)
    layer_switches: int
    renumbering_subscribers: int  # whose picture IDs were being renumbered at the end (every packet rewritten)

    @property
    def cpu_per_media_s(self) -> float:
        return self.cpu_s / self.media_s


async def run_case(
    layers: tuple[LayerSpec, ...],
    frames: list[list[bytes]],
    subscribers: int,
    case: str,
    profiler: cProfile.Profile | None = None,
) -> CaseRun:
    """Feed ``frames`` through a fresh SFU path: the first WARMUP_S unmeasured, the rest measured (and profiled)."""
    fanout = await Fanout.open(len(layers), subscribers, switching=len(layers) > 1)
    try:
        warmup = int(WARMUP_S * FPS)
        await fanout.feed(frames[:warmup], 0, GOP)
        before = fanout.counters()
        gc.collect()
        if profiler is not None:
            profiler.enable()
        started = time.process_time()
        await fanout.feed(frames[warmup:], warmup, GOP)
        cpu_s = time.process_time() - started
        if profiler is not None:
            profiler.disable()
        after = fanout.counters()
        renumbering = fanout.renumbering()
    finally:
        await fanout.close()
    media_s = (len(frames) - warmup) / FPS
    forwarded_frames = after["frames"] - before["frames"]
    return CaseRun(
        case=case,
        subscribers=subscribers,
        media_s=round(media_s, 2),
        cpu_s=round(cpu_s, 5),
        received_packets=sum(len(frame) for frame in frames[warmup:]),
        forwarded_packets=after["packets"] - before["packets"],
        forwarded_fps=round(forwarded_frames / media_s / subscribers, 2) if subscribers else 0.0,
        layer_switches=after["switches"] - before["switches"],
        renumbering_subscribers=renumbering,
    )


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 6),
        "min": round(min(values), 6),
        "max": round(max(values), 6),
    }


def case_figures(runs: list[CaseRun], receive_only: list[CaseRun]) -> dict[str, Any]:
    """A case's figures over its repetitions: CPU per stream, per forwarded packet, and the receive share."""
    per_stream = [r.cpu_per_media_s / r.subscribers for r in runs]
    per_packet_us = [r.cpu_s / r.forwarded_packets * 1e6 for r in runs if r.forwarded_packets]
    receive = statistics.median(r.cpu_per_media_s for r in receive_only) if receive_only else 0.0
    total = statistics.median(r.cpu_per_media_s for r in runs)
    forwarded_per_s = statistics.median(r.forwarded_packets / r.media_s for r in runs)
    forward = total - receive
    received_per_s = runs[0].received_packets / runs[0].media_s
    return {
        "cpu_per_stream": spread(per_stream),
        "us_per_forwarded_packet": spread(per_packet_us),
        "cores_per_publisher_receive_only": round(receive, 6),
        "marginal_cpu_per_stream": round(forward / runs[0].subscribers, 6),
        "marginal_us_per_forwarded_packet": round(forward / forwarded_per_s * 1e6, 2) if forwarded_per_s else 0.0,
        "receive_us_per_received_packet": round(receive / received_per_s * 1e6, 2),
        "received_packets_per_s": round(received_per_s, 1),
        "forwarded_packets_per_s": round(forwarded_per_s, 1),
        "forwarded_fps_per_subscriber": statistics.median(r.forwarded_fps for r in runs),
        "layer_switches_per_run": statistics.median(r.layer_switches for r in runs),
        "renumbering_subscribers": statistics.median(r.renumbering_subscribers for r in runs),
    }


def profile_simulcast(frames: list[list[bytes]], subscribers: int, top: int = 10) -> dict[str, list[dict[str, Any]]]:
    """
    Where a measured simulcast pass spends its time (cProfile; it inflates Python calls against C):
    the functions with the most own time, and the most inclusive time outside asyncio and the bench.
    """
    profiler = cProfile.Profile()
    asyncio.run(run_case(SIMULCAST, frames, subscribers, "simulcast", profiler))
    rows = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in rows.values()) or 1.0

    def row(key: tuple[str, int, str], value: tuple[Any, ...]) -> dict[str, Any]:
        file, line, name = key
        where = "/".join(Path(file).parts[-2:]) if file != "~" else "builtin"
        return {
            "function": f"{where}:{line}:{name}",
            "own_share": round(value[2] / total, 3),
            "inclusive_share": round(value[3] / total, 3),
            "calls": value[1],
        }

    def ours(file: str) -> bool:
        return not any(part in file for part in ("asyncio", "/bench/", "~"))

    by_own = sorted(rows.items(), key=lambda item: item[1][2], reverse=True)[:top]
    by_inclusive = sorted(
        ((key, value) for key, value in rows.items() if ours(key[0])), key=lambda item: item[1][3], reverse=True
    )[:top]
    return {"own": [row(*item) for item in by_own], "inclusive": [row(*item) for item in by_inclusive]}


def run(subscribers: int, media_s: float, repetitions: int, out: Path, profile: bool = True) -> dict[str, Any]:
    """Both cases, alternately, ``repetitions`` times; writes simulcast.{json,md} and returns the report."""
    started = time.monotonic()
    frame_count = int((WARMUP_S + media_s) * FPS)
    cases = {"single_layer": SINGLE_LAYER, "simulcast": SIMULCAST}
    media = {name: publisher_packets(layers, frame_count, GOP) for name, layers in cases.items()}
    measured: dict[str, list[CaseRun]] = {name: [] for name in cases}
    receive_only: dict[str, list[CaseRun]] = {name: [] for name in cases}
    for repetition in range(repetitions):
        order = list(cases) if repetition % 2 == 0 else list(reversed(cases))
        for name in order:
            frames = media[name][0]
            measured[name].append(asyncio.run(run_case(cases[name], frames, subscribers, name)))
            receive_only[name].append(asyncio.run(run_case(cases[name], frames, 0, name)))
            print(f"{name:>12} 1->{subscribers}: {measured[name][-1]}", flush=True)
    figures = {name: case_figures(measured[name], receive_only[name]) for name in cases}
    single = figures["single_layer"]["cpu_per_stream"]["median"]
    simul = figures["simulcast"]["cpu_per_stream"]["median"]
    paired = [
        (s.cpu_s / s.media_s) / (b.cpu_s / b.media_s)
        for s, b in zip(measured["simulcast"], measured["single_layer"], strict=True)
    ]
    ratio = round(simul / single, 2) if single else None
    packet_ratio = round(
        figures["simulcast"]["us_per_forwarded_packet"]["median"]
        / figures["single_layer"]["us_per_forwarded_packet"]["median"],
        2,
    )
    report: dict[str, Any] = {
        "benchmark": "server CPU per forwarded video stream, simulcast (3 layers received) / single layer",
        "method": "in-process micro-benchmark of the SFU's media path (not end to end): see bench/simulcast.py",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": forwarding.machine(),
        "settings": {
            "subscribers": subscribers,
            "media_s": media_s,
            "warmup_s": WARMUP_S,
            "repetitions": repetitions,
            "gop": GOP,
        },
        "streams": {name: asdict(summary) for name, (_, summary) in media.items()},
        "cases": figures,
        "ratio": ratio,
        "ratio_per_repetition": spread(paired),
        "ratio_per_forwarded_packet": packet_ratio,
        "target_ratio_at_most": TARGET_RATIO,
        "met": ratio is not None and ratio <= TARGET_RATIO,
        "runs": [asdict(r) for name in cases for r in measured[name] + receive_only[name]],
    }
    if profile:
        report["profile_simulcast"] = profile_simulcast(media["simulcast"][0], subscribers)
        report["profile_simulcast_receive_only"] = profile_simulcast(media["simulcast"][0], 0)
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["markdown"] = markdown(report)
    out.mkdir(parents=True, exist_ok=True)
    raw = {key: value for key, value in report.items() if key != "markdown"}
    (out / "simulcast.json").write_text(json.dumps(raw, indent=1) + "\n")
    (out / "simulcast.md").write_text(report["markdown"])
    return report


def markdown(report: dict[str, Any]) -> str:
    settings = report["settings"]
    machine = report["machine"]
    lines = [
        f"Measured {report['measured_at']} on {machine['cpu']} ({machine['logical_cores']} cores), aiortc "
        f"{machine['aiortc']}. **In-process micro-benchmark** of the SFU's media path (SRTP unprotect, parse, "
        "`VideoReceivePath.handle`, `ForwardingTrack.push`, `PacketSender.send` with SRTP and `sendto`), not "
        f"end to end. One publisher to {settings['subscribers']} subscribers, {settings['media_s']:.0f} s of "
        f"media after {settings['warmup_s']:.0f} s, {settings['repetitions']} repetitions alternating the cases. "
        "`python -m bench.simulcast`, see docs/benchmarks.md.",
        "",
        "| case | publisher sends | CPU-s/s per forwarded stream (median, min-max) | us per forwarded packet "
        "| receive only: cores (us per received packet) | marginal per stream (us per forwarded packet) "
        "| forwarded packets/s | fps per subscriber "
        "| layer switches a run | subscribers renumbering picture IDs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, figures in report["cases"].items():
        stream = report["streams"][name]
        layers = " + ".join(f"{layer['width']}x{layer['height']}" for layer in stream["layers"])
        per = figures["cpu_per_stream"]
        packet = figures["us_per_forwarded_packet"]
        lines.append(
            f"| {name.replace('_', ' ')} | {layers}, {stream['kbit_per_s']:.0f} kbit/s, "
            f"{stream['packets_per_s']:.0f} packets/s | {per['median']:.5f} ({per['min']:.5f}-{per['max']:.5f}) "
            f"| {packet['median']:.1f} | {figures['cores_per_publisher_receive_only']:.4f} "
            f"({figures['receive_us_per_received_packet']:.1f}) | {figures['marginal_cpu_per_stream']:.5f} "
            f"({figures['marginal_us_per_forwarded_packet']:.1f}) | {figures['forwarded_packets_per_s']:.0f} "
            f"| {figures['forwarded_fps_per_subscriber']:.1f} | {figures['layer_switches_per_run']:.0f} "
            f"| {figures['renumbering_subscribers']:.0f} of {report['settings']['subscribers']} |"
        )
    paired = report["ratio_per_repetition"]
    verdict = "**met**" if report["met"] else "**missed**"
    lines += [
        "",
        f"Simulcast / single layer, CPU per forwarded stream: **{report['ratio']}x** (aim: at most "
        f"{report['target_ratio_at_most']}x, {verdict}); per repetition {paired['min']:.2f}-{paired['max']:.2f}x; "
        f"per forwarded packet {report['ratio_per_forwarded_packet']}x.",
    ]
    passes = (
        ("profile_simulcast", "own", f"1->{settings['subscribers']}, by own time"),
        ("profile_simulcast", "inclusive", f"1->{settings['subscribers']}, by inclusive time"),
        ("profile_simulcast_receive_only", "inclusive", "receive only (no subscribers), by inclusive time"),
    )
    for key, ranking, title in passes:
        profile = report.get(key)
        if profile:
            lines += [
                "",
                f"Simulcast pass {title} (cProfile, outside asyncio and the bench for inclusive time; "
                "profiling inflates Python calls against C):",
                "",
                "| function | own | inclusive | calls |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| `{row['function']}` | {row['own_share']:.1%} | {row['inclusive_share']:.1%} | {row['calls']} |"
                for row in profile[ranking]
            ]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.simulcast", description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=24, help="subscribers of the one publisher")
    parser.add_argument("--media", type=float, default=20.0, help="seconds of media measured per pass")
    parser.add_argument("--repetitions", type=int, default=5, help="passes of each case")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where simulcast.{json,md} go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args.subscribers, args.media, args.repetitions, args.out, not args.no_profile)
    print()
    print(report["markdown"])
    print(f"done in {report['duration_s']} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
