"""The benchmarks' own arithmetic: profile summaries, the latency trailer, capacity and the report (no timing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiortc.rtp import RtpPacket

from bench.latency import MAGIC, TRAILER, ArrivalLog, percentiles
from bench.load import Topology
from bench.profile import summarize
from bench.summary import forwarding_capacity


def test_topologies_count_streams_for_both_curves() -> None:
    """An n-by-n meeting forwards n*(n-1) streams; one publisher to k subscribers forwards k."""
    assert Topology(4).streams == 12 and Topology(4).label == "4x4"
    assert Topology(1, 16).streams == 16 and Topology(1, 16).size == 17 and Topology(1, 16).label == "1->16"


def test_profile_summary_ranks_own_and_inclusive_time_without_plumbing(tmp_path: Path) -> None:
    raw = tmp_path / "profile.txt"
    raw.write_text(
        "run_forever (asyncio/base_events.py:1);_run_rtp (aiortc/rtcrtpsender.py:2);sendto (asyncio/x.py:3) 6\n"
        "run_forever (asyncio/base_events.py:1);_run_rtp (aiortc/rtcrtpsender.py:2);pack (aiortc/codecs/vpx.py:4) 3\n"
        "run_forever (asyncio/base_events.py:1);select (selectors.py:5) 1\n"
    )
    summary = summarize(raw)
    assert summary["samples"] == 10
    assert summary["own"][0] == {"function": "asyncio/x.py:sendto", "share": 0.6}
    assert summary["inclusive"][0] == {"function": "aiortc/rtcrtpsender.py:_run_rtp", "share": 0.9}
    assert all(not row["function"].startswith("asyncio/") for row in summary["inclusive"])
    assert summary["idle_share"] == 0.1


async def test_a_stamped_frame_is_read_from_its_marker_packet_once() -> None:
    """The trailer rides at the end of the frame's last packet; a retransmission is not a second arrival."""

    class Receiver:
        async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
            pass

    receiver: Any = Receiver()
    log = ArrivalLog()
    log.watch(receiver)
    log.recording = True
    packet = RtpPacket(payload_type=96, sequence_number=1, timestamp=0, ssrc=1, marker=1)
    packet.payload = b"\x10vp8" + TRAILER.pack(MAGIC, 7, 1_000)
    await receiver._handle_rtp_packet(packet, 0)
    await receiver._handle_rtp_packet(packet, 0)
    unmarked = RtpPacket(payload_type=96, sequence_number=2, timestamp=0, ssrc=1, marker=0)
    unmarked.payload = b"\x10vp8" + TRAILER.pack(MAGIC, 8, 1_000)
    await receiver._handle_rtp_packet(unmarked, 0)
    assert list(log.frames) == [7]


def test_percentiles_of_delays() -> None:
    figures = percentiles([float(value) for value in range(1, 101)])
    assert figures["count"] == 100 and figures["p50_ms"] == 50.5 and figures["max_ms"] == 100.0
    assert percentiles([]) == {"count": 0}


def run(listeners: int, cores: float, held: bool = True, loss: float = 0.0) -> dict[str, Any]:
    return {
        "server": "forwarding",
        "size": listeners + 1,
        "listeners": listeners,
        "held": held,
        "loss": loss,
        "packet_loss": 0.0,
        "server_cores": cores,
        "cpu_per_delivered_stream": cores / listeners,
        "packets_per_s_per_core": 100 * listeners / cores,
    }


def test_capacity_counts_only_meetings_held_under_one_percent_loss() -> None:
    capacity = forwarding_capacity([run(1, 0.05), run(8, 0.12), run(16, 0.05, held=False), run(4, 0.01, loss=0.02)])
    assert capacity["best_meeting"] == "1->8" and capacity["best_streams_per_core"] == 67
    assert capacity["marginal_streams_per_core"] == 100  # (8 - 1) / (0.12 - 0.05)
    assert capacity["largest_fanout_held"] == 8 and not capacity["met"]


def test_the_signaling_report_says_how_the_last_step_failed() -> None:
    """A ramp that stopped shows, for that step, the joins refused and the sockets the server closed, by code."""
    from bench.summary import signaling_section, targets_table

    held = {"participants": 2500, "joined": 2500, "connected_after_hold": 2500, "closed_by_server": 0}
    failed = {
        "participants": 5000,
        "joined": 4997,
        "connected_after_hold": 4990,
        "closed_by_server": 7,
        "close_codes": {"4008": 7},
        "join_failures": ["InvalidStatus(403)"],
    }
    figures = {"server_cores": 0.5, "rss_mb": 100.0, "fds": 10, "joins_per_s": 30.0}
    results = {
        "signaling": {
            "idle_definition": "idle",
            "ramp": [{**held, **figures, "held": True}, {**failed, **figures, "held": False}],
            "max_idle_held": 2500,
            "met": False,
            "rss_kb_per_idle_participant": None,
            "presence_fanout": {},
        }
    }
    targets, verdicts = targets_table(results)
    assert verdicts["idle"] is False
    assert "2,500 held (where the ramp stopped); at 5,000: 4,997 joined (3 refused), 4,990 still connected" in targets
    section = signaling_section(results)
    assert "| 5000 | 4997 | 4990 | 7 (4008: 7) |" in section
    assert "InvalidStatus(403)" in section


def test_the_simulcast_bench_gives_both_figures_and_their_ratio(tmp_path: Path) -> None:
    """A tiny run measures single-layer and simulcast forwarding, writes both and their ratio (speed not asserted)."""
    from bench import simulcast
    from bench.summary import targets_table

    report = simulcast.run(subscribers=3, media_s=1.0, repetitions=1, out=tmp_path, profile=False)
    for case in ("single_layer", "simulcast"):
        figures = report["cases"][case]
        assert figures["cpu_per_stream"]["median"] > 0 and figures["forwarded_fps_per_subscriber"] > 0
    simulcast_case = report["cases"]["simulcast"]
    assert report["streams"]["simulcast"]["layers"][2]["rid"] == "f"
    assert simulcast_case["renumbering_subscribers"] > 0, "a subscriber moved layers and its picture IDs run on"
    assert report["ratio"] > 0 and isinstance(report["met"], bool)
    assert (tmp_path / "simulcast.json").exists()
    assert "Simulcast / single layer" in (tmp_path / "simulcast.md").read_text()
    targets, verdicts = targets_table({"simulcast": report})
    assert "simulcast" in verdicts and f"{report['ratio']}x" in targets


def test_the_summary_keeps_the_headline_figures_and_stays_small(tmp_path: Path) -> None:
    """summary.json holds each figure report.md and soak.md state against a target, and none of the raw samples."""
    import json

    from bench.headline import bench_headline, soak_headline, write_summary

    results = {
        "mode": "full",
        "measured_at": "2026-12-01T03:36:11+0000",
        "machine": {"cpu": "AMD EPYC", "logical_cores": 2, "python": "3.11.7", "aiortc": "1.16.0", "platform": "x"},
        "forwarding": {"runs": [run(listeners, 0.001 * listeners + 0.02) for listeners in range(1, 200)]},
        "join": {"joins": 20, "completed": 20, "p50_ms": 191.6, "p95_ms": 218.7, "target_p95_ms": 500.0, "met": True}
        | {"results": [{"join_ms": 200.0}] * 1000},
        "latency": {
            "meeting": "1->4",
            "added": {"p50_ms": 1.28, "p95_ms": 1.91, "p99_ms": 2.43},
            "target_added_p99_ms": 20.0,
            "met": True,
            "delays_ms": [1.0] * 10_000,
        },
        "memory": {"ramp": [], "mb_per_participant": 0.77, "target_mb_per_participant": 5.0, "met": True},
        "signaling": {"error": "Traceback ..."},
    }
    soak = {
        "passed": True,
        "checks": [{"name": "rss_slope", "ok": True, "detail": ""}, {"name": "end_empty", "ok": False, "detail": ""}],
        "rss": {"idle_start_mb": 101.7, "after_warmup_mb": 119.1, "slope_mb_per_min": 0.075, "growth_mb": 0.6},
        "call_log": {"joins_made": 72, "clean_leaves": 36, "abrupt_drops": 36},
        "window": {"churn_start": 0.0, "warmup_end": 120.2, "churn_end": 601.2},
        "settings": {"size": 6, "limits": {"rss_slope_mb_per_min": 1.0, "rss_growth_mb": 8.0}},
        "samples": [{"rss_mb": 110.0}] * 1000,
    }
    write_summary(tmp_path, "soak", soak_headline(soak))
    path = write_summary(tmp_path, "bench", bench_headline(results))
    summary = json.loads(path.read_text())
    bench = summary["bench"]
    assert bench["machine"] == {"cpu": "AMD EPYC", "logical_cores": 2, "python": "3.11.7", "aiortc": "1.16.0"}
    assert bench["forwarding"]["meeting"] == "1->199" and bench["forwarding"]["met"]
    assert bench["join"]["p95_ms"] == 218.7 and bench["latency"]["added_p99_ms"] == 2.43
    assert bench["memory"] == {"mb_per_participant": 0.77, "target_mb_per_participant_below": 5.0, "met": True}
    assert bench["failed"] == ["signaling"] and "signaling" not in bench
    assert summary["soak"]["rss_slope_mb_per_min"] == 0.075 and summary["soak"]["checks_passed"] == 1
    assert summary["soak"]["churn_minutes"] == 10.0
    assert path.stat().st_size < 3000, "raw samples leaked into the summary"


def recording_window(recording: bool, cpu_s: float, frames: int, tracks: int = 0) -> dict[str, Any]:
    """A 10 s window of the recording benchmark: two subscriptions each receiving ``frames`` video frames."""
    snapshot = {"at": 0.0, "server_cpu_s": 0.0, "load_cpu_s": 0.0, "machine_busy_s": 0.0, "received": {"a": 0, "b": 0}}
    after = {"at": 10.0, "server_cpu_s": cpu_s, "load_cpu_s": 1.0, "machine_busy_s": cpu_s + 1.0}
    after["received"] = {"a": frames, "b": frames}
    recorded = [{"frame_count": 800, "size_bytes": 1_000_000, "frames_dropped": 0}] * tracks
    return {"recording": recording, "before": snapshot, "after": after, "tracks": recorded}


def test_recording_ratios_count_only_windows_whose_media_was_steady() -> None:
    """A starved window (or one catching up) forwards another amount of media: it is left out of the ratios."""
    from bench.recording import RecordingSettings, end_to_end_figures, in_process_figures

    raw = {
        "windows": [
            recording_window(False, 1.0, 300),
            recording_window(True, 1.1, 300, tracks=2),
            recording_window(True, 0.5, 100, tracks=2),  # the publishers were starved: not steady
            recording_window(False, 2.0, 600),  # catching up: not steady
        ]
    }
    figures = end_to_end_figures(raw, RecordingSettings(settle_s=0.0))
    assert [w["steady"] for w in figures["windows"]] == [True, True, False, False]
    assert figures["ratio"] == 1.1 and figures["ratio_per_video_frame"] == 1.1
    assert figures["recorded_frames_per_s"] == 160.0
    cases = [
        {"recording": False, "cores": 0.1, "frames_written_per_s": 0.0, "frames_dropped": 0},
        {"recording": True, "cores": 0.11, "frames_written_per_s": 320.0, "frames_dropped": 0},
    ]
    local = in_process_figures(cases)
    assert local["ratio"] == 1.1 and local["added_us_per_recorded_frame"] == 31.2


def test_the_batching_bench_measures_sends_that_arrive() -> None:
    """bench/send_batching.py's sendmmsg through ctypes sends every packet of a burst (its figure is of real sends)."""
    from bench import send_batching

    sender, receiver = send_batching._pair()
    try:
        packets = [bytes([number]) * send_batching.PACKET_BYTES for number in range(3)]
        assert send_batching.send_burst(send_batching.libc_sendmmsg(), sender.fileno(), packets) == 3
        receiver.settimeout(5)
        assert [receiver.recv(2000) for _ in range(3)] == packets
    finally:
        sender.close()
        receiver.close()
    assert send_batching.python_send_us(50, 3) > 0 and send_batching.ctypes_sendmmsg_us(50, 3) > 0
