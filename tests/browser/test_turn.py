"""
TURN end to end: a call whose media goes only through a local coturn, as CALLS_TURN_SECRET,
CALLS_TURN_URLS and CALLS_ICE_TRANSPORT_POLICY=relay configure it for operators whose browsers must
not reach the SFU directly; each join's credential is its own and expires.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aioice.stun
import aioice.turn
import pytest
from playwright.sync_api import Page

from sessions_app.turn import rest_credential

from .call_page import JOIN_TIMEOUT_MS, Call, Until
from .conftest import PROJECT_ROOT, DaphneServer, free_port
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
    turnUsernames: pc.getConfiguration().iceServers.map((server) => server.username).filter(Boolean),
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
        "CALLS_TURN_SECRET": turn_server.secret,
        "CALLS_TURN_URLS": turn_server.url,
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
    session = Call(open_page, create_session(relay_only_server))
    people = session.join_all("Ann", "Bob", until=Until.MEDIA, init_script=TRACK_PEER_CONNECTIONS)

    relays = turn_server.relay_addresses()
    usernames = set()
    for page, _ in people:
        before = call_stats(page)
        assert before["policy"] == "relay" and before["connectionState"] == "connected", before
        # A credential of this join's own: "<expiry>:<participant id>", expiring within the configured lifetime.
        [username] = before["turnUsernames"]
        expiry, participant_id = username.split(":")
        assert time.time() < int(expiry) <= time.time() + 6 * 60 * 60 + 60
        assert page.locator(f'[data-participant-id="{participant_id}"][data-local="true"]').count() == 1
        usernames.add(username)
        assert before["localCandidateTypes"] and set(before["localCandidateTypes"]) == {"relay"}, before
        local = before["selected"]["local"]
        assert local["type"] == "relay", before
        assert (local["address"], local["port"]) in relays, (before, relays)
        page.wait_for_function(
            FRAMES_DECODED_PAST, arg=before["framesDecoded"] + FRAMES_DECODED_GROWTH, timeout=JOIN_TIMEOUT_MS
        )

    assert len(usernames) == 2


def test_the_share_page_carries_no_turn_credential(
    open_page: Callable[..., Page], relay_only_server: DaphneServer, turn_server: TurnServer
) -> None:
    """Anyone with the link reads the page: TURN credentials reach a browser only in its own `joined`."""
    page = open_page(create_session(relay_only_server))
    html = page.content()
    assert turn_server.url not in html and not re.search(r'"(username|credential)"', html)


def allocate(server: TurnServer, username: str, password: str) -> None:
    """Allocate a relay as a browser would (aioice's TURN client), in a thread: Playwright owns this one's loop."""

    async def allocation() -> None:
        transport, _ = await aioice.turn.create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", server.port), username, password
        )
        transport.close()

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, allocation()).result(timeout=30)


def test_coturn_refuses_an_expired_or_forged_credential(turn_server: TurnServer) -> None:
    """A relay is allocated with a fresh credential, and refused (401) once it has expired or when forged."""
    allocate(turn_server, *rest_credential(turn_server.secret, "p1", int(time.time()) + 60))
    for secret, expires_at in ((turn_server.secret, int(time.time()) - 1), ("not-the-secret", int(time.time()) + 60)):
        with pytest.raises(aioice.stun.TransactionFailed, match="401"):
            allocate(turn_server, *rest_credential(secret, "p1", expires_at))
