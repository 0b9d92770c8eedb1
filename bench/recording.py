"""
Server CPU with recording on, as a ratio to recording off, for a 4x4 meeting: two measurements.

``python -m bench.recording`` (``python -m bench --only recording``). Both use four publishers,
each sending camera-like 640x480 VP8 at 30 fps (``bench/media.py``) and Opus at 50 packets a
second, each receiving the other three; recording writes every track to its own file, as a room
does, in a temporary directory on this machine's disk.

1. **End to end**: four aiortc participants against the SFU in its own process, as
   ``bench/forwarding.py`` runs it. The same meeting is measured in windows, recording off and on
   in turn (off-on, on-off, ...: a drift of the machine's load falls on both alike). Each "on"
   window starts a recording before its settling time and stops it after the window: what is
   measured is the steady cost (the taps, the writer thread's muxing, the disk writes). The
   server's CPU is every thread of its process (``psutil``), also per video frame delivered: a
   window whose publishers were starved and then caught up forwarded more, and costs more.
2. **In process** (``recording_world.py``): the same meeting's media path in this process (the
   SFU's receive path, forwarding and senders; no kernel receive, ICE or RTCP), fed in real time,
   recording off and on in turn; CPU is ``time.process_time`` (every thread, this process only).
   Other processes on the machine change it least.

Results go to bench/results/recording.md (committed) and recording.json (everything; local, git
ignores it); see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from sessions_app.sfu.ice import use_host_addresses
from tests.synthetic import encode_opus_packets

from . import load, recording_world, runner
from .channel import LOOPBACK
from .forwarding import machine
from .media import camera_like_vp8, profile
from .report import FPS, HOLD_FPS_FRACTION

RESULTS = Path(__file__).resolve().parent / "results"
GOP = 60
MEETING = 4
TARGET_RATIO = 1.3
# Opus packets in the publishers' loop: 10 s of a tone whose every packet differs, about 32 kbit/s.
AUDIO_PACKETS = 500
IN_PROCESS_WARMUP_S = 2.0


@dataclass(frozen=True)
class RecordingSettings:
    """How long to wait for media and let it settle, and the windows: ``pairs`` of off and on."""

    pairs: int = 3
    measure_s: float = 8.0
    settle_s: float = 2.5  # longer than the publishers' keyframe interval (2 s): a video file starts at one
    flow_timeout_s: float = 30.0
    warmup_s: float = 3.0
    directory: str = ""
    audio: tuple[bytes, ...] = ()

    @property
    def window_s(self) -> float:
        """Everything after the warm-up (what ``runner.run_once`` sizes its timeout with)."""
        return self.pairs * 2 * (self.measure_s + self.settle_s + 2.0)


async def measure(
    port: int, topology: load.Topology, frames: list[bytes], server_pid: int, settings: RecordingSettings
) -> dict[str, Any]:
    """Join the meeting, wait for media, then measure the windows, recording in every other one."""
    use_host_addresses((LOOPBACK,))
    server, here = psutil.Process(server_pid), psutil.Process()
    meeting = load.Meeting(topology, frames, audio=list(settings.audio))
    windows: list[dict[str, Any]] = []
    try:
        await meeting.join(port)
        flowing = await meeting.wait_flowing(settings.flow_timeout_s)
        for client in meeting.clients.values():
            load.enlarge_receive_buffers(client.pc)
        await asyncio.sleep(settings.warmup_s)
        for pair in range(settings.pairs):
            for recording in (False, True) if pair % 2 == 0 else (True, False):
                windows.append(await measure_window(meeting, server, here, settings, recording, len(windows)))
    finally:
        await meeting.close()
    return {"streams": len(meeting.pairs), "flowing_streams": flowing, "windows": windows}


async def measure_window(
    meeting: load.Meeting,
    server: psutil.Process,
    here: psutil.Process,
    settings: RecordingSettings,
    recording: bool,
    index: int,
) -> dict[str, Any]:
    """One window: start recording (if ``recording``), settle, measure, stop and collect the files."""
    if recording:
        reply = await meeting.request({"op": "start_recording", "directory": f"{settings.directory}/window-{index}"})
        if "error" in reply:
            raise RuntimeError(f"start_recording failed: {reply['error']}")
    await asyncio.sleep(settings.settle_s)
    before = meeting.snapshot(server, here)
    await asyncio.sleep(settings.measure_s)
    after = meeting.snapshot(server, here)
    tracks: list[dict[str, Any]] = []
    if recording:
        reply = await meeting.request({"op": "stop_recording"})
        if "error" in reply:
            raise RuntimeError(f"stop_recording failed: {reply['error']}")
        tracks = reply["tracks"]
    return {"recording": recording, "before": asdict(before), "after": asdict(after), "tracks": tracks}


def main(
    port: int,
    topology: load.Topology,
    frames: list[bytes],
    server_pid: int,
    settings: RecordingSettings,
    out: Connection,
) -> None:
    """Load process entry point (``runner.run_once``'s ``load_target``): sends the raw windows through ``out``."""
    logging.basicConfig(level=logging.WARNING)
    try:
        out.send(asyncio.run(measure(port, topology, frames, server_pid, settings)))
    except Exception:
        out.send({"error": traceback.format_exc()})
    finally:
        out.close()


def window_figures(window: dict[str, Any], settings: RecordingSettings) -> dict[str, Any]:
    """A window's server CPU, what the machine did besides, delivery, and (recording) what was written."""
    before, after = window["before"], window["after"]
    elapsed = after["at"] - before["at"]
    server_cores = (after["server_cpu_s"] - before["server_cpu_s"]) / elapsed
    load_cores = (after["load_cpu_s"] - before["load_cpu_s"]) / elapsed
    machine_cores = (after["machine_busy_s"] - before["machine_busy_s"]) / elapsed
    received = {pair: after["received"][pair] - before["received"][pair] for pair in after["received"]}
    fps = [count / elapsed for count in received.values()]
    delivered_per_s = sum(received.values()) / elapsed
    tracks = window["tracks"]
    recorded_s = settings.settle_s + elapsed  # a recording runs from before the settling time to after the window
    figures: dict[str, Any] = {
        "recording": window["recording"],
        "window_s": round(elapsed, 2),
        "server_cores": round(server_cores, 4),
        "other_cores": round(max(0.0, machine_cores - server_cores - load_cores), 3),
        "min_video_fps": round(min(fps), 1) if fps else 0.0,
        "mean_video_fps": round(sum(fps) / len(fps), 1) if fps else 0.0,
        "cores_per_1000_video_frames_per_s": round(server_cores / delivered_per_s * 1000, 4)
        if delivered_per_s
        else None,
        # The publishers sent in real time and nothing piled up: neither starved nor catching up.
        "steady": bool(fps) and min(fps) >= HOLD_FPS_FRACTION * FPS and max(fps) <= FPS / HOLD_FPS_FRACTION,
    }
    if window["recording"]:
        figures |= {
            "files": len(tracks),
            "frames_per_s": round(sum(t["frame_count"] for t in tracks) / recorded_s, 1),
            "kbytes_per_s": round(sum(t["size_bytes"] for t in tracks) / recorded_s / 1000, 1),
            "frames_dropped": sum(t["frames_dropped"] for t in tracks),
        }
    return figures


def ratio_of(on: list[float], off: list[float]) -> float | None:
    return round(statistics.mean(on) / statistics.mean(off), 3) if on and off and statistics.mean(off) else None


def end_to_end_figures(raw: dict[str, Any], settings: RecordingSettings) -> dict[str, Any]:
    """The windows' figures, and the on/off ratios over the steady ones (CPU, and CPU per video frame delivered)."""
    windows = [window_figures(window, settings) for window in raw["windows"]]
    steady = [w for w in windows if w["steady"]]
    on = [w for w in steady if w["recording"]]
    off = [w for w in steady if not w["recording"]]
    recorded = [w for w in windows if w["recording"]]
    return {
        "steady_windows": len(steady),
        "off_cores": round(statistics.mean(w["server_cores"] for w in off), 4) if off else None,
        "on_cores": round(statistics.mean(w["server_cores"] for w in on), 4) if on else None,
        "ratio": ratio_of([w["server_cores"] for w in on], [w["server_cores"] for w in off]),
        "ratio_per_video_frame": ratio_of(
            [w["cores_per_1000_video_frames_per_s"] for w in on], [w["cores_per_1000_video_frames_per_s"] for w in off]
        ),
        "recorded_frames_per_s": round(statistics.mean(w["frames_per_s"] for w in recorded), 1) if recorded else 0,
        "recorded_kbytes_per_s": round(statistics.mean(w["kbytes_per_s"] for w in recorded), 1) if recorded else 0,
        "frames_dropped": sum(w["frames_dropped"] for w in recorded),
        "windows": windows,
    }


def in_process_figures(cases: list[dict[str, Any]]) -> dict[str, Any]:
    on = [case["cores"] for case in cases if case["recording"]]
    off = [case["cores"] for case in cases if not case["recording"]]
    recorded = [case for case in cases if case["recording"]]
    # Passes run in pairs (off-on, on-off, ...): each pair's ratio is the least disturbed by the machine's drift.
    paired = [
        (b["cores"] / a["cores"]) if b["recording"] else (a["cores"] / b["cores"])
        for a, b in zip(cases[::2], cases[1::2], strict=True)
    ]
    return {
        "off_cores": round(statistics.mean(off), 4),
        "on_cores": round(statistics.mean(on), 4),
        "ratio": ratio_of(on, off),
        "paired_ratios": [round(ratio, 3) for ratio in paired],
        "added_us_per_recorded_frame": round(
            (statistics.mean(on) - statistics.mean(off))
            / statistics.mean(case["frames_written_per_s"] for case in recorded)
            * 1e6,
            1,
        ),
        "frames_dropped": sum(case["frames_dropped"] for case in recorded),
        "cases": cases,
    }


def run_in_process(repetitions: int, media_s: float, audio: list[bytes], directory: str) -> dict[str, Any]:
    """The in-process meeting, recording off and on in turn (off-on, on-off, ...), ``repetitions`` pairs."""
    cases = []
    for repetition in range(repetitions):
        for recording in (False, True) if repetition % 2 == 0 else (True, False):
            case = asyncio.run(
                recording_world.measure_case(
                    recording, MEETING, media_s, IN_PROCESS_WARMUP_S, GOP, audio, f"{directory}/in-process-{len(cases)}"
                )
            )
            print(f"in process: {case}", flush=True)
            cases.append(case)
    return in_process_figures(cases)


def verdict(report: dict[str, Any]) -> bool:
    """Met when every ratio measured is at most TARGET_RATIO (an end-to-end run without steady windows says nothing)."""
    ratios = [report["in_process"]["ratio"], report["end_to_end"].get("ratio")]
    return all(ratio <= TARGET_RATIO for ratio in ratios if ratio is not None)


def markdown(report: dict[str, Any]) -> str:
    e2e, local = report["end_to_end"], report["in_process"]

    def shown(ratio: float | None) -> str:
        return f"{ratio:.2f}x" if ratio is not None else "not measured"

    lines = [
        f"Measured {report['measured_at']} on {report['machine']['cpu']} ({report['machine']['logical_cores']} cores), "
        f"aiortc {report['machine']['aiortc']}. A {MEETING}x{MEETING} meeting, each publisher sending "
        f"{report['stream']['width']}x{report['stream']['height']} {report['stream']['fps']} fps VP8 "
        f"({report['stream']['kbit_per_s']:.0f} kbit/s) and Opus (50 packets/s); recording writes each "
        f"track to a file of its own ({MEETING * 2} files). `python -m bench.recording`, see docs/benchmarks.md.",
        "",
        "| measurement | recording off (cores) | recording on (cores) | on / off | target |",
        "|---|---|---|---|---|",
        f"| in process, {len(local['cases'])} passes of {report['settings']['in_process_media_s']:.0f} s "
        f"| {local['off_cores']:.3f} | {local['on_cores']:.3f} | **{shown(local['ratio'])}** "
        f"| at most {TARGET_RATIO}x |",
    ]
    if e2e.get("ratio") is not None:
        lines.append(
            f"| end to end, {e2e['steady_windows']} steady windows of {report['settings']['measure_s']:.0f} s "
            f"| {e2e['off_cores']:.3f} | {e2e['on_cores']:.3f} | **{shown(e2e['ratio'])}** "
            f"({shown(e2e['ratio_per_video_frame'])} per video frame delivered) | at most {TARGET_RATIO}x |"
        )
    else:
        lines.append(
            f"| end to end | | | not measured: {e2e.get('error', 'no steady window with and without recording')} | |"
        )
    lines += [
        "",
        f"Verdict: {'met' if report['met'] else 'NOT met'}. In process, pairs of passes gave "
        f"{', '.join(f'{ratio:.2f}x' for ratio in local['paired_ratios'])}; recording added "
        f"{local['added_us_per_recorded_frame']:.0f} µs of CPU per frame written "
        f"({local['cases'][-1]['frames_written_per_s']:.0f} frames/s); "
        f"{local['frames_dropped'] + e2e.get('frames_dropped', 0)} frames dropped in all.",
    ]
    if "windows" in e2e:
        lines += [
            "",
            "End to end, window by window (a window is steady when every subscriber got 27 to 33 video frames "
            "a second; only steady ones count):",
            "",
            "| window | recording | server cores | other load (cores) | video fps min / mean | steady "
            "| frames written/s |",
            "|---|---|---|---|---|---|---|",
        ]
        for index, window in enumerate(e2e["windows"]):
            written = f"{window['frames_per_s']:.0f}" if window["recording"] else ""
            fps = f"{window['min_video_fps']:.1f} / {window['mean_video_fps']:.1f}"
            lines.append(
                f"| {index + 1} | {'on' if window['recording'] else 'off'} | {window['server_cores']:.3f} | "
                f"{window['other_cores']:.2f} | {fps} | {'yes' if window['steady'] else 'no'} | {written} |"
            )
    return "\n".join(lines) + "\n"


def run(
    pairs: int,
    measure_s: float,
    out: Path,
    in_process_repetitions: int = 3,
    in_process_media_s: float = 10.0,
    settle_s: float = 2.5,
) -> dict[str, Any]:
    """Both measurements; writes recording.{json,md} and returns the report."""
    started = time.monotonic()
    frames = camera_like_vp8(gop=GOP)
    stream = profile(frames, GOP)
    audio = encode_opus_packets(AUDIO_PACKETS)
    directory = tempfile.mkdtemp(prefix="calls-bench-recording-")
    settings: Any = RecordingSettings(  # it has what runner.run_once reads of a LoadSettings
        pairs=pairs, measure_s=measure_s, settle_s=settle_s, directory=directory, audio=tuple(audio)
    )
    try:
        local = run_in_process(in_process_repetitions, in_process_media_s, audio, directory)
        runner.wait_for_quiet(runner.PatienceBudget(30.0))
        try:
            raw = runner.run_once("forwarding", load.Topology(MEETING), frames, settings, main)
            end_to_end = end_to_end_figures(raw, settings)
        except runner.RunFailed as exc:
            end_to_end = {"error": str(exc).splitlines()[0]}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report: dict[str, Any] = {
        "benchmark": "SFU CPU with recording on / off, one 4x4 meeting (VP8 + Opus)",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "stream": asdict(stream),
        "settings": {
            "meeting": f"{MEETING}x{MEETING}",
            "pairs": pairs,
            "measure_s": measure_s,
            "settle_s": settle_s,
            "in_process_repetitions": in_process_repetitions,
            "in_process_media_s": in_process_media_s,
        },
        "in_process": local,
        "end_to_end": end_to_end,
    }
    report["ratio"] = local["ratio"]
    report["end_to_end_ratio"] = end_to_end.get("ratio")
    report["target_ratio_at_most"] = TARGET_RATIO
    report["met"] = verdict(report)
    report["duration_s"] = round(time.monotonic() - started, 1)
    report["markdown"] = markdown(report)
    out.mkdir(parents=True, exist_ok=True)
    (out / "recording.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "recording.md").write_text(report["markdown"])
    return report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.recording", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="end to end: pairs of windows, recording off and on")
    parser.add_argument("--window", type=float, default=8.0, help="end to end: seconds measured in each window")
    parser.add_argument("--repetitions", type=int, default=3, help="in process: pairs of passes, off and on")
    parser.add_argument("--media", type=float, default=10.0, help="in process: seconds of media measured a pass")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main_cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args.pairs, args.window, args.out, args.repetitions, args.media)
    print(report["markdown"])
    print(f"done in {report['duration_s']} s", flush=True)
    return 0 if report["met"] else 1


if __name__ == "__main__":
    sys.exit(main_cli())
