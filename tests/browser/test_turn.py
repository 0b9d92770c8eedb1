"""
TURN end to end: a call whose media goes only through a local coturn, as CALLS_ICE_SERVERS and
CALLS_ICE_TRANSPORT_POLICY=relay configure it for operators whose browsers must not reach the SFU directly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from .call_page import JOIN_TIMEOUT_MS, wait_for_remote_media
from .conftest import PROJECT_ROOT, DaphneServer, free_port
from .test_settings_actions import joined
from .turn import TURNSERVER, TurnServer

pytestmark = pytest.mark.browser

FRAMES_DECODED_GROWTH = 30

# Every RTCPeerConnection the page creates, with the configuration it was given.
TRACK_PEER_CONNECTIONS = """
window.__peerConnections = [];
const NativeRTCPeerConnection = window.RTCPeerConnection;
window.RTCPeerConnection = class extends NativeRTCPeerConnection {
  constructor(...args) {
    super(...args);
    window.__peerConnections.push(this);
  }
};
"""

# What the call's peer connection (the last one opened) uses: its policy, the local candidates it
# gathered, the selected pair's two ends, and how many video frames it has decoded.
PEER_CONNECTION_STATS = """
async () => {
  const pc = window.__peerConnections.at(-1);
  const stats = await pc.getStats();
  const byId = new Map([...stats.values()].map((report) => [report.id, report]));
  const candidate = (id) => {
    const report = byId.get(id);
    return report && { type: report.candidateType, address: report.address, port: report.port };
  };
  const transport = [...stats.values()].find((report) => report.type === "transport" && report.selectedCandidatePairId);
  const pair = transport && byId.get(transport.selectedCandidatePairId);
  const inboundVideo = [...stats.values()].filter((report) => report.type === "inbound-rtp" && report.kind === "video");
  return {
    policy: pc.getConfiguration().iceTransportPolicy,
    connectionState: pc.connectionState,
    localCandidateTypes: [...stats.values()].filter((r) => r.type === "local-candidate").map((r) => r.candidateType),
    selected: pair ? { local: candidate(pair.localCandidateId), remote: candidate(pair.remoteCandidateId) } : null,
    framesDecoded: inboundVideo.reduce((sum, report) => sum + (report.framesDecoded || 0), 0),
  };
}
"""

FRAMES_DECODED_PAST = """
async (floor) => {
  const stats = await window.__peerConnections.at(-1).getStats();
  let decoded = 0;
  stats.forEach((report) => {
    if (report.type === "inbound-rtp" && report.kind === "video") decoded += report.framesDecoded || 0;
  });
  return decoded > floor;
}
"""


@pytest.fixture(scope="module")
def turn_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TurnServer]:
    """coturn on 127.0.0.1 (a free port) with one long-term user; stopped after the module."""
    if not Path(TURNSERVER).exists():
        pytest.fail(f"{TURNSERVER} is missing: install Debian's coturn (scripts/test.sh does).")
    server = TurnServer(tmp_path_factory.mktemp("turn"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def relay_only_server(server_env: dict[str, str], turn_server: TurnServer, tmp_path: Path) -> Iterator[DaphneServer]:
    """A Daphne server (own database and port) that hands browsers and its SFU the TURN server, relay only."""
    port = free_port()
    env = {
        **server_env,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'turn.sqlite3'}",
        "CALLS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "CALLS_ICE_SERVERS": json.dumps([turn_server.ice_server]),
        "CALLS_ICE_TRANSPORT_POLICY": "relay",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=PROJECT_ROOT, env=env, check=True)
    server = DaphneServer(port, env, tmp_path / "daphne.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def create_session(server: DaphneServer) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "create_session", "--title", "Relayed"],
        cwd=PROJECT_ROOT,
        env=server.env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def call_stats(page: Page) -> dict[str, Any]:
    return page.evaluate(PEER_CONNECTION_STATS)


def test_a_relay_only_call_goes_through_the_turn_server(
    open_page: Callable[..., Page], relay_only_server: DaphneServer, turn_server: TurnServer
) -> None:
    """
    With CALLS_ICE_TRANSPORT_POLICY=relay both browsers gather only relay candidates, connect to the
    SFU through coturn's relay addresses (which coturn's log shows it allocated) and decode the
    other's video, which keeps coming.
    """
    share_url = create_session(relay_only_server)
    pages = [joined(open_page, share_url, name, init_script=TRACK_PEER_CONNECTIONS) for name in ("Ann", "Bob")]
    for page in pages:
        wait_for_remote_media(page, 1)

    relays = turn_server.relay_addresses()
    for page in pages:
        before = call_stats(page)
        assert before["policy"] == "relay" and before["connectionState"] == "connected", before
        assert before["localCandidateTypes"] and set(before["localCandidateTypes"]) == {"relay"}, before
        local = before["selected"]["local"]
        assert local["type"] == "relay", before
        assert (local["address"], local["port"]) in relays, (before, relays)
        page.wait_for_function(
            FRAMES_DECODED_PAST, arg=before["framesDecoded"] + FRAMES_DECODED_GROWTH, timeout=JOIN_TIMEOUT_MS
        )
