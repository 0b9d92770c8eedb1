"""Abuse limits: message budgets per socket, connects per address, participants per call (issue 14, finding 3)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.core.cache import cache

from sessions_app import errors
from sessions_app.models import DEFAULT_MAX_PARTICIPANTS, CallSession, Participant
from sessions_app.services import presence
from sessions_app.signaling import protocol
from sessions_app.signaling.limits import FLOOD_REFUSALS, MESSAGE_RATES, MessageBudget
from sessions_app.tokens import CallIdentity
from tests.test_consumer import join, new_session, receive_type
from tests.test_moderation import close_sockets_and_media, closed_with, open_socket

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
async def sfu_cleanup() -> Any:
    yield
    await close_sockets_and_media()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_budget_allows_its_burst_then_its_rate() -> None:
    """A type's burst goes through at once; then one message per refill interval, and the wait is given."""
    clock = Clock()
    budget = MessageBudget(clock)
    rate = MESSAGE_RATES[protocol.Hand]
    assert all(budget.take(protocol.Hand) == 0.0 for _ in range(rate.burst))
    wait_s = budget.take(protocol.Hand)
    assert wait_s == pytest.approx(1 / rate.refill_per_s)
    clock.now += wait_s
    assert budget.take(protocol.Hand) == 0.0
    assert budget.take(protocol.Chat) == 0.0  # every type has its own budget


def test_a_socket_refused_again_and_again_is_flooding() -> None:
    clock = Clock()
    budget = MessageBudget(clock)
    for _ in range(MESSAGE_RATES[protocol.Hand].burst + FLOOD_REFUSALS - 1):
        budget.take(protocol.Hand)
    assert not budget.flooding
    budget.take(protocol.Hand)
    assert budget.flooding
    clock.now += 60
    for _ in range(MESSAGE_RATES[protocol.Hand].burst + 1):
        budget.take(protocol.Hand)
    assert not budget.flooding  # a refusal in a new window starts a new count


@pytest.mark.django_db(transaction=True)
async def test_a_flood_of_hands_and_media_gets_coded_refusals_and_no_database_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    300 hands and 200 media changes from one guest: past each budget every message is refused with
    ERR_TOO_MANY_REQUESTS (the type and the wait in details) and reaches neither the database nor the
    others; a socket that keeps at it is closed with 4029.
    """
    writes: list[str] = []
    for name in ("set_hand", "update_media"):
        original = getattr(presence, name)

        def counting(*args: Any, _original: Any = original, _name: str = name) -> Any:
            writes.append(_name)
            return _original(*args)

        monkeypatch.setattr(presence, name, counting)
    session = await new_session()
    watcher, guest = await open_socket(session.session_id), await open_socket(session.session_id)
    await join(watcher, "Watcher", session.session_id)
    await join(guest, "Flooder", session.session_id)
    for index in range(300):
        await guest.send_json_to({"type": "hand", "raised": index % 2 == 0})
    for index in range(200):
        await guest.send_json_to({"type": "media", "audioMuted": index % 2 == 0, "videoPaused": False})
    refusals = []
    while True:
        output = await guest.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            assert output["code"] == errors.WS_4029_TOO_MANY_REQUESTS
            break
        message = __import__("json").loads(output["text"])
        if message["type"] == "error":
            refusals.append(message)
    assert refusals and all(m["code"] == errors.ERR_TOO_MANY_REQUESTS for m in refusals)
    assert {m["details"].get("type") for m in refusals[:-1]} == {"Hand"}
    assert refusals[0]["details"]["retryAfterMs"] > 0
    hand_budget = MESSAGE_RATES[protocol.Hand].burst
    assert writes.count("set_hand") <= hand_budget + 1
    assert writes.count("update_media") == 0  # the socket was closed before any media message
    hands_relayed = 0
    await watcher.send_json_to({"type": "ping"})
    while (message := await watcher.receive_json_from(timeout=10))["type"] != "pong":
        hands_relayed += message["type"] == "hand"
    assert hands_relayed <= hand_budget + 1


@pytest.mark.django_db(transaction=True)
async def test_media_changes_past_their_budget_are_refused_without_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within the flood limit, media messages past the budget are refused one by one; the call goes on."""
    writes: list[tuple[Any, ...]] = []
    original = presence.update_media
    monkeypatch.setattr(presence, "update_media", lambda *args: writes.append(args) or original(*args))
    session = await new_session()
    guest = await open_socket(session.session_id)
    await join(guest, "Clicker", session.session_id)
    burst = MESSAGE_RATES[protocol.MediaState].burst
    for index in range(burst + 10):
        await guest.send_json_to({"type": "media", "audioMuted": index % 2 == 0, "videoPaused": False})
    refused = [await receive_type(guest, "error") for _ in range(10)]
    assert all(m["details"]["type"] == "MediaState" for m in refused)
    assert len(writes) <= burst
    await guest.send_json_to({"type": "ping"})
    await receive_type(guest, "pong")


@pytest.mark.django_db(transaction=True)
async def test_connects_from_one_address_are_limited(settings: Any) -> None:
    """Past CALLS_WS_CONNECT_RATE, an address's sockets are told ERR_TOO_MANY_REQUESTS and closed (4029)."""
    settings.CALLS_WS_CONNECT_RATE = "3/m"
    await database_sync_to_async(cache.clear)()
    session = await new_session()
    for _ in range(3):
        socket = await open_socket(session.session_id, ip="203.0.113.9")
        await socket.send_json_to({"type": "ping"})
        await receive_type(socket, "pong")
    refused = await open_socket(session.session_id, ip="203.0.113.9")
    assert (await refused.receive_json_from())["code"] == errors.ERR_TOO_MANY_REQUESTS
    assert await closed_with(refused) == errors.WS_4029_TOO_MANY_REQUESTS
    other = await open_socket(session.session_id, ip="203.0.113.10")
    await other.send_json_to({"type": "ping"})
    await receive_type(other, "pong")


@pytest.mark.django_db(transaction=True)
def test_the_fifty_first_participant_is_refused_by_default() -> None:
    """A call holds CometChat's 50 by default; the 51st join is refused and not recorded."""
    session = CallSession.objects.create()
    assert session.max_participants == DEFAULT_MAX_PARTICIPANTS == 50
    admit = async_to_sync(presence.admit)
    for index in range(50):
        admit(session, _identity(index), f"P{index}", False, False)
    with pytest.raises(presence.CallFull):
        admit(session, _identity(50), "P50", False, False)
    assert Participant.objects.filter(session=session, left_at__isnull=True).count() == 50


def _identity(index: int) -> CallIdentity:
    return CallIdentity(
        jti=f"jti-{index}", session_id="", uid=f"guest_{index}", name="", is_guest=True,
        role="participant", avatar="", may_rename=True,
    )  # fmt: skip


COUNT_CONNECTS = """
import sys
from sessions_app.signaling.limits import _count_connect
print(sum(_count_connect("203.0.113.50") for _ in range(2)))
"""


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL): the suite's second run")
def test_processes_share_one_connect_count_through_redis() -> None:
    """
    Two processes on one Redis each count two connects from one address against 3 a minute: the
    second process's second connect is the fourth, and refused.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "calls_project.settings",
        "CALLS_WS_CONNECT_RATE": "3/m",
        "CALLS_REDIS_PREFIX": f"calls-test-limits-{secrets.token_hex(4)}",
    }
    refused = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", COUNT_CONNECTS],
            cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        refused.append(int(result.stdout.strip().splitlines()[-1]))
    assert refused == [0, 1]
