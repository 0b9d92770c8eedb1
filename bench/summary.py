"""The run's report: every figure next to its target, met or not, and the profiles where one is missed."""

from __future__ import annotations

from typing import Any

import numpy as np

from .profile import markdown as profile_markdown

TARGET_STREAMS_PER_CORE = 200
TARGET_LOSS = 0.01


def forwarding_capacity(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """
    Streams per core the SFU sustained at under 1% loss: measured (delivered streams over server
    cores, best run) and marginal (one over the slope of cores against subscribers, 1-to-k curve).
    """
    good = [
        r
        for r in runs
        if r["server"] == "forwarding"
        and r["held"]
        and r["loss"] < TARGET_LOSS
        and r["packet_loss"] < TARGET_LOSS
        and r["cpu_per_delivered_stream"] > 0
    ]
    best = max(good, key=lambda r: 1 / r["cpu_per_delivered_stream"], default=None)
    fan = sorted((r for r in good if r["listeners"]), key=lambda r: r["listeners"])
    marginal = None
    if len(fan) >= 2:
        slope = float(np.polyfit([r["listeners"] for r in fan], [r["server_cores"] for r in fan], 1)[0])
        marginal = round(1 / slope, 0) if slope > 0 else None
    return {
        "best_streams_per_core": round(1 / best["cpu_per_delivered_stream"], 0) if best else None,
        "best_meeting": best and (f"1->{best['listeners']}" if best["listeners"] else f"{best['size']}x{best['size']}"),
        "best_packets_per_s_per_core": best and best["packets_per_s_per_core"],
        "marginal_streams_per_core": marginal,
        "largest_fanout_held": max((r["listeners"] for r in fan), default=0),
        "met": bool(best) and 1 / best["cpu_per_delivered_stream"] >= TARGET_STREAMS_PER_CORE,
    }


def _yes(value: bool) -> str:
    return "**met**" if value else "**missed**"


def targets_table(results: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    rows = ["| figure | target | this run | |", "|---|---|---|---|"]
    verdicts: dict[str, Any] = {}
    fwd = results.get("forwarding", {})
    if "runs" in fwd:
        capacity = forwarding_capacity(fwd["runs"])
        verdicts["forwarding"] = capacity
        marginal = capacity["marginal_streams_per_core"]
        rows.append(
            f"| forwarded 640x480 streams per core, under 1% loss | >= {TARGET_STREAMS_PER_CORE} "
            f"| {capacity['best_streams_per_core']} measured ({capacity['best_meeting']}); "
            f"{marginal if marginal is not None else 'n/a'} marginal (1-to-k slope) | {_yes(capacity['met'])} |"
        )
    join = results.get("join", {})
    if "p95_ms" in join:
        verdicts["join"] = join["met"]
        rows.append(
            f"| join to first remote frame, p95 ({join['completed']}/{join['joins']} joins) | <= 500 ms "
            f"| p50 {join['p50_ms']:.0f} ms, p95 {join['p95_ms']:.0f} ms | {_yes(join['met'])} |"
        )
    lat = results.get("latency", {})
    if lat.get("added"):
        verdicts["latency"] = lat["met"]
        added = lat["added"]
        rows.append(
            f"| added latency through the SFU, p99 ({lat['meeting']}) | < 20 ms "
            f"| p50 {added['p50_ms']:.1f}, p95 {added['p95_ms']:.1f}, p99 {added['p99_ms']:.1f} ms "
            f"| {_yes(lat['met'])} |"
        )
    sig = results.get("signaling", {})
    if "ramp" in sig:
        verdicts["idle"] = sig["met"]
        per = sig.get("rss_kb_per_idle_participant")
        stopped = next((row for row in sig["ramp"] if "held" in row and not row["held"]), None)
        beyond = ""
        if stopped is not None and "joined" in stopped:
            beyond = (
                f"; at {stopped['participants']:,}: {stopped['joined']:,} joined "
                f"({stopped['participants'] - stopped['joined']:,} refused), "
                f"{stopped['connected_after_hold']:,} still connected after the hold"
            )
        rows.append(
            f"| idle participants one Daphne process holds | >= 5,000 | {sig['max_idle_held']:,} held "
            f"(where the ramp stopped){f'; {per:.0f} kB RSS each' if per else ''}{beyond} | {_yes(sig['met'])} |"
        )
        fan = sig.get("presence_fanout", {}).get("all_notified", {})
        if fan:
            rows.append(
                f"| presence fan-out, a join announced to all 49 others | (no target) "
                f"| p50 {fan['p50_ms']:.0f} ms, p95 {fan['p95_ms']:.0f} ms | |"
            )
    mem = results.get("memory", {})
    if "ramp" in mem:
        verdicts["memory"] = mem["met"]
        rows.append(
            f"| memory per participant with media | < 5 MB | {mem['mb_per_participant']} MB | {_yes(mem['met'])} |"
        )
    sim = results.get("simulcast", {})
    if sim.get("ratio") is not None:
        verdicts["simulcast"] = sim["met"]
        cases = sim["cases"]
        rows.append(
            f"| forwarding cost with simulcast (3 layers received) / single layer, CPU per forwarded stream "
            f"(in-process, 1->{sim['settings']['subscribers']}) | <= {sim['target_ratio_at_most']}x "
            f"| {sim['ratio']}x ({cases['simulcast']['cpu_per_stream']['median']:.5f} against "
            f"{cases['single_layer']['cpu_per_stream']['median']:.5f} CPU-s/s); per forwarded packet "
            f"{sim['ratio_per_forwarded_packet']}x | {_yes(sim['met'])} |"
        )
    rec = results.get("recording", {})
    if rec.get("ratio") is not None:
        verdicts["recording"] = rec["met"]
        e2e = rec.get("end_to_end_ratio")
        rows.append(
            f"| SFU CPU with recording on / off, 4x4 meeting (VP8 + Opus) | <= {rec['target_ratio_at_most']}x "
            f"| in process {rec['ratio']}x; end to end {f'{e2e}x' if e2e is not None else 'not measured'} "
            f"| {_yes(rec['met'])} |"
        )
    for name in ("forwarding", "latency", "join", "signaling", "memory", "simulcast", "recording"):
        if "error" in results.get(name, {}):
            rows.append(f"| {name} | | failed: see report.json | |")
    return "\n".join(rows) + "\n", verdicts


def forwarding_section(results: dict[str, Any]) -> str:
    fwd = results.get("forwarding", {})
    if "markdown" not in fwd:
        return ""
    text = "## 1. Forwarding capacity\n\n" + fwd["markdown"] + "\n"
    profile = results.get("forwarding_profile", {}).get("profile")
    if profile:
        meeting = results["forwarding_profile"]["meeting"]
        text += "\n" + profile_markdown(profile, f"SFU profile over one window at {meeting}") + "\n"
    return text


def latency_section(results: dict[str, Any]) -> str:
    lat = results.get("latency", {})
    if "through_sfu" not in lat:
        return ""
    lines = [
        "## 3. Added latency",
        "",
        f"One publisher to {lat['meeting'].split('->')[1]} subscribers, {lat['window_s']:.0f} s; send time stamped "
        "into each VP8 frame, receive time when its last packet arrives (before the subscriber's jitter buffer).",
        "",
        "| path | frames | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("through_sfu", "direct"):
        p = lat[name]
        if p.get("count"):
            lines.append(
                f"| {name.replace('_', ' ')} | {p['count']} | {p['p50_ms']} | {p['p95_ms']} | {p['p99_ms']} "
                f"| {p['max_ms']} |"
            )
    added = lat["added"]
    lines.append(f"| **added by the SFU** | | {added['p50_ms']} | {added['p95_ms']} | {added['p99_ms']} | |")
    return "\n".join(lines) + "\n"


def join_section(results: dict[str, Any]) -> str:
    join = results.get("join", {})
    if "results" not in join:
        return ""
    lines = [
        "## 2. Join time",
        "",
        f"{join['completed']} of {join['joins']} joins completed; p50 {join.get('p50_ms')} ms, "
        f"p95 {join.get('p95_ms')} ms, max {join.get('max_ms')} ms. Phases (p50, from the Join click): "
        f"server's offer in {join.get('offer_p50_ms')} ms, connection up {join.get('connected_p50_ms')} ms. "
        f"The publisher answered {join.get('keyframes_on_request')} keyframe requests.",
    ]
    return "\n".join(lines) + "\n"


def signaling_section(results: dict[str, Any]) -> str:
    sig = results.get("signaling", {})
    if "ramp" not in sig:
        return ""
    lines = [
        "## 4. Signaling",
        "",
        f"Idle participants: {sig['idle_definition']}.",
        "",
        "| participants | joined | still connected after the hold | closed by the server (close codes) "
        "| joins/s | server CPU (cores) | RSS (MB) | descriptors | held |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in sig["ramp"]:
        if "rss_mb" not in row:
            lines.append(f"| {row['participants']} | {row.get('skipped') or row.get('error')} | | | | | | | |")
            continue
        codes = ", ".join(f"{code}: {count}" for code, count in row.get("close_codes", {}).items())
        lines.append(
            f"| {row['participants']} | {row.get('joined', 0)} | {row.get('connected_after_hold', 0)} "
            f"| {row.get('closed_by_server', 0)}{f' ({codes})' if codes else ''} "
            f"| {row.get('joins_per_s', '')} | {row['server_cores']} | {row['rss_mb']} | {row['fds']} "
            f"| {'yes' if row.get('held') else 'no'} |"
        )
    failures = [failure for row in sig["ramp"] for failure in row.get("join_failures", [])]
    if failures:
        lines += [
            "",
            "Joins refused (the last few each client process saw): "
            + "; ".join(f"`{failure[:120]}`" for failure in failures),
        ]
    fan = sig.get("presence_fanout", {})
    if fan.get("all_notified"):
        lines += [
            "",
            f"Presence fan-out in a call of {fan['call_size']} ({fan['complete_trials']}/{fan['trials']} trials): "
            f"join sent -> all 49 have `participant_joined`: p50 {fan['all_notified']['p50_ms']} ms, p95 "
            f"{fan['all_notified']['p95_ms']} ms; any one of them: p50 {fan['each_notified']['p50_ms']} ms.",
        ]
    profile = sig.get("profile_at_most_participants")
    if profile:
        lines += ["", profile_markdown(profile, "Daphne profile over the last hold of the ramp")]
    return "\n".join(lines) + "\n"


def memory_section(results: dict[str, Any]) -> str:
    mem = results.get("memory", {})
    if "ramp" not in mem:
        return ""
    points = ", ".join(f"{r['participants']}: {r['rss_mb']}" for r in mem["ramp"])
    return (
        "## 5. Memory per participant\n\n"
        f"{mem['media']}; calls of {mem['call_size']}. RSS (MB) by participants: {points}. "
        f"Slope: **{mem['mb_per_participant']} MB per participant**.\n"
    )


def simulcast_section(results: dict[str, Any]) -> str:
    sim = results.get("simulcast", {})
    if "markdown" not in sim:
        return ""
    return "## 6. Forwarding cost with simulcast\n\n" + sim["markdown"]


def recording_section(results: dict[str, Any]) -> str:
    rec = results.get("recording", {})
    if "markdown" not in rec:
        return ""
    return "## 7. Recording\n\n" + rec["markdown"]


def rerun_line(rerun: dict[str, Any]) -> str:
    machine = f" on {rerun['cpu']}" if "cpu" in rerun else ""
    return f"Re-run alone at {rerun['at']}{machine}: {', '.join(rerun['only'])}.\n\n"


def markdown_report(results: dict[str, Any]) -> str:
    table, verdicts = targets_table(results)
    results["verdicts"] = verdicts
    machine = results["machine"]
    head = (
        f"# Benchmarks ({results['mode']} run)\n\n"
        f"Measured {results['measured_at']} on {machine['cpu']} ({machine['logical_cores']} cores), Python "
        f"{machine['python']}, aiortc {machine['aiortc']}, in {results['duration_s']:.0f} s. "
        "`python -m bench` (`make bench`); method in docs/benchmarks.md. The machine is shared with other "
        "work: absolute figures are noisy, ratios against the same-run baselines less so.\n\n"
        + "".join(rerun_line(rerun) for rerun in results.get("rerun", []))
        + "## Targets\n\n"
        + table
        + "\n"
    )
    plots = "".join(f"![{name}]({name})\n" for name in results.get("plots", []))
    sections = [
        forwarding_section(results),
        join_section(results),
        latency_section(results),
        signaling_section(results),
        memory_section(results),
        simulcast_section(results),
        recording_section(results),
    ]
    return head + "\n".join(section for section in sections if section) + ("\n## Plots\n\n" + plots if plots else "")
