"""ICE configuration: CALLS_ICE_SERVERS and CALLS_ICE_TRANSPORT_POLICY, from the environment to `joined`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import runpy
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from sessions_app import turn
from sessions_app.signaling import protocol
from tests.calls_state import reset_calls
from tests.test_consumer import join, new_session, open_socket

SETTINGS_PATH = Path(__file__).resolve().parents[1] / "calls_project" / "settings.py"
TURN = [{"urls": ["stun:turn.example.org:3478", "turn:turn.example.org:3478"], "username": "u", "credential": "p"}]


def settings_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """calls_project/settings.py evaluated under ``env``; the settings of this test run are untouched."""
    for name in ("CALLS_ICE_SERVERS", "CALLS_ICE_TRANSPORT_POLICY", "CALLS_TURN_SECRET", "CALLS_TURN_URLS"):
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
        await reset_calls()


def test_relay_policy_with_rest_turn_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    values = settings_from_env(
        monkeypatch,
        CALLS_TURN_SECRET="s3cret",
        CALLS_TURN_URLS="turn:turn.example.org:3478?transport=udp",
        CALLS_ICE_TRANSPORT_POLICY="relay",
    )
    assert values["CALLS_TURN_URLS"] == ["turn:turn.example.org:3478?transport=udp"]


@pytest.mark.parametrize(
    "env",
    [
        {"CALLS_TURN_SECRET": "s3cret"},
        {"CALLS_TURN_URLS": "turn:t.example.org"},
        {"CALLS_TURN_SECRET": "s", "CALLS_TURN_URLS": "stun:t.example.org"},
    ],
)
def test_turn_settings_that_cannot_work_are_refused(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    with pytest.raises(ImproperlyConfigured, match="CALLS_TURN"):
        settings_from_env(monkeypatch, **env)


def test_each_join_gets_its_own_expiring_turn_credential(settings: Any) -> None:
    """coturn's use-auth-secret scheme: "<expiry>:<participant>", HMAC-SHA1 of it with the shared secret."""
    settings.CALLS_ICE_SERVERS = [{"urls": "stun:stun.example.org:3478"}]
    settings.CALLS_TURN_SECRET = "s3cret"
    settings.CALLS_TURN_URLS = ["turn:turn.example.org:3478"]
    settings.CALLS_TURN_CREDENTIAL_TTL_SECONDS = 600
    stun, relay = turn.ice_servers_for("pid1", now=lambda: 1_000_000.0)
    assert stun == {"urls": "stun:stun.example.org:3478"}
    assert relay["urls"] == ["turn:turn.example.org:3478"] and relay["username"] == "1000600:pid1"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:pid1", hashlib.sha1).digest()).decode()
    assert relay["credential"] == expected
    assert turn.ice_servers_for("pid2")[1]["username"].endswith(":pid2")


def test_pages_carry_no_credentials(settings: Any) -> None:
    settings.CALLS_ICE_SERVERS = [{"urls": "stun:stun.example.org"}, *TURN]
    assert turn.public_ice_servers() == [{"urls": "stun:stun.example.org"}]
