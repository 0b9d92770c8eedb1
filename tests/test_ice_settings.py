"""ICE configuration: CALLS_ICE_SERVERS and CALLS_ICE_TRANSPORT_POLICY, from the environment to `joined`."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from sessions_app import protocol
from sessions_app.media import reset_sfu
from tests.test_consumer import join, new_session, open_socket

SETTINGS_PATH = Path(__file__).resolve().parents[1] / "calls_project" / "settings.py"
TURN = [{"urls": ["stun:turn.example.org:3478", "turn:turn.example.org:3478"], "username": "u", "credential": "p"}]


def settings_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """calls_project/settings.py evaluated under ``env``; the settings of this test run are untouched."""
    for name in ("CALLS_ICE_SERVERS", "CALLS_ICE_TRANSPORT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_PATH))


def test_policy_defaults_to_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CALLS_ICE_TRANSPORT_POLICY browsers may use every candidate."""
    assert settings_from_env(monkeypatch)["CALLS_ICE_TRANSPORT_POLICY"] == "all"


@pytest.mark.parametrize(
    "servers",
    [TURN, [{"urls": "turns:turn.example.org:5349", "username": "u", "credential": "p"}]],
)
def test_relay_policy_with_a_turn_server(monkeypatch: pytest.MonkeyPatch, servers: list[dict[str, Any]]) -> None:
    """``relay`` (in any case) is accepted once CALLS_ICE_SERVERS names a turn: or turns: URL."""
    values = settings_from_env(monkeypatch, CALLS_ICE_SERVERS=json.dumps(servers), CALLS_ICE_TRANSPORT_POLICY=" Relay ")
    assert values["CALLS_ICE_TRANSPORT_POLICY"] == "relay"


@pytest.mark.parametrize("servers", [[], [{"urls": "stun:stun.example.org:3478"}], ["turn:not-an-object"]])
def test_relay_policy_without_a_turn_server_is_refused(
    monkeypatch: pytest.MonkeyPatch, servers: list[dict[str, Any]]
) -> None:
    """Relay-only without a TURN server would leave every browser without a single candidate."""
    with pytest.raises(ImproperlyConfigured, match="needs a TURN server"):
        settings_from_env(monkeypatch, CALLS_ICE_SERVERS=json.dumps(servers), CALLS_ICE_TRANSPORT_POLICY="relay")


def test_unknown_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="CALLS_ICE_TRANSPORT_POLICY must be all or relay, not 'public'"):
        settings_from_env(monkeypatch, CALLS_ICE_SERVERS=json.dumps(TURN), CALLS_ICE_TRANSPORT_POLICY="public")


def joined(**kwargs: Any) -> dict[str, Any]:
    return protocol.joined_message({"pid": "p1"}, "s1", [], TURN, {}, [], "resume", **kwargs)


def test_joined_carries_the_ice_servers_and_policy() -> None:
    """The browser learns its STUN/TURN servers and transport policy from ``joined``; the default is ``all``."""
    assert joined()["iceServers"] == TURN and joined()["iceTransportPolicy"] == "all"
    assert joined(ice_transport_policy=protocol.ICE_TRANSPORT_RELAY)["iceTransportPolicy"] == "relay"


def test_joined_refuses_a_policy_browsers_do_not_know() -> None:
    with pytest.raises(ValueError, match="ice_transport_policy"):
        joined(ice_transport_policy="public")


@pytest.mark.django_db(transaction=True)
async def test_the_consumer_sends_the_configured_policy(settings: Any) -> None:
    """The signaling socket's ``joined`` carries CALLS_ICE_TRANSPORT_POLICY to the browser."""
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
    settings.CALLS_ICE_TRANSPORT_POLICY = "relay"
    session = await new_session()
    communicator = await open_socket(session.session_id)
    try:
        joined = await join(communicator, "Ann", session.session_id)
        assert joined["iceTransportPolicy"] == "relay" and joined["iceServers"] == []
    finally:
        await communicator.disconnect()
        await reset_sfu()
