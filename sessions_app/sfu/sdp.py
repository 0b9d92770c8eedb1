"""Small, line-based SDP rewrites the SFU needs around aiortc."""

from __future__ import annotations

import re

_CANDIDATE_HOST_RE = re.compile(r"^(a=candidate:\S+ \d+ \S+ \d+ )(\S+)( \d+ typ host.*)$")


def _sections(sdp: str) -> tuple[list[str], list[list[str]]]:
    lines = sdp.splitlines()
    session: list[str] = []
    media: list[list[str]] = []
    for line in lines:
        if line.startswith("m="):
            media.append([line])
        elif media:
            media[-1].append(line)
        else:
            session.append(line)
    return session, media


def _join(session: list[str], media: list[list[str]]) -> str:
    return "\r\n".join(session + [line for section in media for line in section]) + "\r\n"


def bundle_mids(sdp: str) -> list[str]:
    """The mids of the session's BUNDLE group, in order ([] without one)."""
    session, _ = _sections(sdp)
    for line in session:
        if line.startswith("a=group:BUNDLE"):
            return line.split()[1:]
    return []


def share_bundle_candidates(sdp: str) -> str:
    """
    Give every bundled media section the candidates of the first bundled one.

    aiortc 1.16.0 keeps the remote candidates of one media section per
    transport and, under max-bundle, the last section's win; browsers put the
    bundle's candidates on the first section only (Firefox until bundling is
    agreed). Without this the server checks the wrong ports, or none.
    """
    session, media = _sections(sdp)
    bundle: set[str] = set()
    for line in session:
        if line.startswith("a=group:BUNDLE "):
            bundle.update(line.split()[1:])
    if len(media) < 2 or not bundle:
        return sdp

    def mid_of(section: list[str]) -> str | None:
        for line in section:
            if line.startswith("a=mid:"):
                return line[6:].strip()
        return None

    bundled = [section for section in media if mid_of(section) in bundle]
    source = next((s for s in bundled if any(line.startswith("a=candidate:") for line in s)), None)
    if source is None:
        return sdp
    candidates = [line for line in source if line.startswith("a=candidate:") or line == "a=end-of-candidates"]
    for section in bundled:
        if section is source:
            continue
        kept = [line for line in section if not (line.startswith("a=candidate:") or line == "a=end-of-candidates")]
        section[:] = kept + candidates
    return _join(session, media)


def announce_address(sdp: str, announced_ip: str) -> str:
    """Replace the address of our host candidates (and c= lines) with the public one."""
    if not announced_ip:
        return sdp
    family = "IP6" if ":" in announced_ip else "IP4"
    out = []
    for line in sdp.splitlines():
        match = _CANDIDATE_HOST_RE.match(line)
        if match:
            line = f"{match.group(1)}{announced_ip}{match.group(3)}"
        elif line.startswith("c=IN "):
            line = f"c=IN {family} {announced_ip}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"


def offer_simulcast(sdp: str, mids: dict[str, tuple[str, ...]]) -> str:
    """
    Ask for simulcast on the media sections ``mids`` names (mid -> rids, lowest layer first).

    Each such section gets ``a=rid:<rid> recv`` lines and ``a=simulcast:recv``: a browser that
    answers it creates one encoding per rid (Chromium and Firefox both do, as JSEP now says),
    and sends each as its own RTP stream marked with the rid header extension. Sections whose
    rids are already there (a repeated offer) are left as they are.
    """
    if not mids:
        return sdp
    session, media = _sections(sdp)
    for section in media:
        mid = next((line[6:].strip() for line in section if line.startswith("a=mid:")), None)
        rids = mids.get(mid or "")
        if not rids or any(line.startswith("a=simulcast:") for line in section):
            continue
        section.extend(f"a=rid:{rid} recv" for rid in rids)
        section.append("a=simulcast:recv " + ";".join(rids))
    return _join(session, media)


_OPUS_RTPMAP_RE = re.compile(r"^a=rtpmap:(\d+) opus/48000", re.IGNORECASE)
OPUS_PARAMETERS = "minptime=10;useinbandfec=1;usedtx=1"


def ask_opus_resilience(sdp: str) -> str:
    """
    Ask browsers for Opus with in-band FEC and DTX (``useinbandfec=1;usedtx=1``): a lost audio
    packet is rebuilt from the next one, and silence costs almost nothing. aiortc offers Opus
    without parameters, and a browser's encoder follows what its receiver asks for.
    """
    session, media = _sections(sdp)
    for section in media:
        if not section[0].startswith("m=audio"):
            continue
        payload_type = next((m.group(1) for m in map(_OPUS_RTPMAP_RE.match, section) if m), None)
        if payload_type is None:
            continue
        prefix = f"a=fmtp:{payload_type} "
        section[:] = [line for line in section if not line.startswith(prefix)]
        position = next(i for i, line in enumerate(section) if _OPUS_RTPMAP_RE.match(line)) + 1
        section.insert(position, prefix + OPUS_PARAMETERS)
    return _join(session, media)


_VP8_RTPMAP_RE = re.compile(r"^a=rtpmap:(\d+) VP8/90000", re.IGNORECASE)


def offer_transport_cc(sdp: str, mids: set[str], extension_id: int, uri: str) -> str:
    """
    Ask for transport-wide congestion control feedback on the media sections ``mids`` (what the
    SFU sends a subscriber): the sequence-number header extension and ``transport-cc`` feedback for
    VP8. Only those: on what a browser publishes, it would expect the same feedback from us.
    """
    session, media = _sections(sdp)
    for section in media:
        mid = next((line[6:].strip() for line in section if line.startswith("a=mid:")), None)
        if mid not in mids or any(uri in line for line in section):
            continue
        payload_type = next((m.group(1) for m in map(_VP8_RTPMAP_RE.match, section) if m), None)
        if payload_type is None:
            continue
        position = max((i for i, line in enumerate(section) if line.startswith("a=extmap:")), default=0) + 1
        section.insert(position, f"a=extmap:{extension_id} {uri}")
        section.append(f"a=rtcp-fb:{payload_type} transport-cc")
    return _join(session, media)


def accepts_transport_cc(sdp: str, uri: str) -> bool:
    """Whether an answer keeps the transport-wide sequence-number extension we offered."""
    return any(line.startswith("a=extmap:") and uri in line for line in sdp.splitlines())
