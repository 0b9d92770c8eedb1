"""In-call features on the signaling channel: hands, chat, screen sharing, end for all, dominant speaker."""

from __future__ import annotations

import asyncio
import fractions
import math
from typing import Any

import numpy as np
import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from av import AudioFrame
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from sessions_app import errors
from sessions_app.models import CallSession
from sessions_app.services.media import get_sfu
from sessions_app.sfu import SFU, MediaConfig, MediaEvent
from sessions_app.sfu import DominantSpeaker as SpeakerEvent
from sessions_app.sfu.speakers import SpeakerTracker
from sessions_app.signaling import protocol
from tests.calls_state import reset_calls
from tests.media_client import MediaClient
from tests.test_consumer import answer_offers, join, new_session, open_socket, receive_type
from tests.test_sfu import connect, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


@pytest.fixture(autouse=True)
async def loopback_sfu(settings: Any) -> Any:
    settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
    yield
    await reset_calls()


async def two_in_a_call(
    bob_role: str = "participant",
) -> tuple[CallSession, WebsocketCommunicator, WebsocketCommunicator, str, str]:
    session = await new_session()
    ann, bob = await open_socket(session.session_id), await open_socket(session.session_id)
    ann_id = (await join(ann, "Ann", session.session_id))["participantId"]
    bob_id = (await join(bob, "Bob", session.session_id, role=bob_role))["participantId"]
    return session, ann, bob, ann_id, bob_id


async def test_raised_hands_are_ordered_by_time_and_shown_to_late_joiners() -> None:
    """Hands carry the server's raise time; raising again keeps one's place; late joiners see them."""
    session, ann, bob, ann_id, bob_id = await two_in_a_call()
    await bob.send_json_to({"type": "hand", "raised": True})
    bob_hand = await receive_type(ann, "hand")
    assert await receive_type(bob, "hand") == bob_hand  # the sender sees its own hand, in the same order
    await ann.send_json_to({"type": "hand", "raised": True})
    ann_hand = await receive_type(bob, "hand")
    await receive_type(ann, "hand")
    assert bob_hand["participantId"] == bob_id and ann_hand["participantId"] == ann_id
    assert 0 < bob_hand["raisedHandTimestamp"] <= ann_hand["raisedHandTimestamp"]
    await bob.send_json_to({"type": "hand", "raised": True})
    again = await receive_type(ann, "hand")
    await receive_type(bob, "hand")
    assert again["raisedHandTimestamp"] == bob_hand["raisedHandTimestamp"]

    cho = await open_socket(session.session_id)
    seen = {p["pid"]: p["raisedHandTimestamp"] for p in (await join(cho, "Cho", session.session_id))["participants"]}
    assert seen == {ann_id: ann_hand["raisedHandTimestamp"], bob_id: bob_hand["raisedHandTimestamp"]}

    await ann.send_json_to({"type": "hand", "raised": False})
    lowered = await receive_type(cho, "hand")
    assert lowered == protocol.hand_message(ann_id, 0)
    for communicator in (ann, bob, cho):
        await communicator.disconnect()


async def test_chat_reaches_everyone_with_one_id() -> None:
    """A chat message goes to every participant, the sender too, with the sender's name."""
    _, ann, bob, ann_id, _ = await two_in_a_call()
    await ann.send_json_to({"type": "chat", "text": "  <b>hello</b> all  "})
    echoed, received = await receive_type(ann, "chat"), await receive_type(bob, "chat")
    assert echoed == received
    assert (received["participantId"], received["name"], received["text"]) == (ann_id, "Ann", "<b>hello</b> all")
    await ann.disconnect()
    await bob.disconnect()


@pytest.mark.parametrize("text", ["", "   ", 5, "x" * (protocol.MAX_CHAT_CHARS + 1)])
async def test_bad_chat_messages_are_refused(text: Any) -> None:
    _, ann, bob, _, _ = await two_in_a_call()
    await ann.send_json_to({"type": "chat", "text": text})
    error = await receive_type(ann, "error")
    assert error["code"] == errors.ERROR_JSON_EXCEPTION and error["details"]["field"] == "text"
    await ann.disconnect()
    await bob.disconnect()


async def test_chat_floods_are_refused() -> None:
    """Past 20 messages in 10 s a sender gets ERR_TOO_MANY_REQUESTS; the others are not flooded."""
    _, ann, bob, _, _ = await two_in_a_call()
    for index in range(21):
        await ann.send_json_to({"type": "chat", "text": f"message {index}"})
    assert (await receive_type(ann, "error"))["code"] == errors.ERR_TOO_MANY_REQUESTS
    received = 0
    while not await bob.receive_nothing(timeout=0.3):
        received += (await bob.receive_json_from())["type"] == "chat"
    assert received == 20
    await ann.disconnect()
    await bob.disconnect()


async def test_end_for_all_ends_the_call_for_everyone() -> None:
    """endSessionForAll from a moderator ends the session and drops every connection."""
    session, ann, bob, _, _ = await two_in_a_call(bob_role="moderator")
    await bob.send_json_to({"type": "end_for_all"})
    for communicator in (ann, bob):
        assert (await receive_type(communicator, "session_ended"))["reason"] == errors.LEAVE_REASON_ENDED
    assert (await ann.receive_output(timeout=5))["code"] == errors.WS_4010_SESSION_ENDED
    refreshed = await database_sync_to_async(CallSession.objects.get)(pk=session.pk)
    assert refreshed.is_ended


async def test_screen_share_is_a_second_video_track_others_receive_and_lose() -> None:
    """A shared screen reaches the others as a `screen` track; stopping it tells them."""
    session = await new_session()
    sockets, clients, tasks, pids = [], [], [], []
    try:
        for name, tracks in (
            ("ann", {"audio": AudioStreamTrack(), "video": VideoStreamTrack(), "screen": VideoStreamTrack()}),
            ("bob", {"audio": AudioStreamTrack(), "video": VideoStreamTrack()}),
        ):
            socket = await open_socket(session.session_id)
            pids.append((await join(socket, name, session.session_id))["participantId"])
            client = MediaClient(name, tracks)
            sockets.append(socket)
            clients.append(client)
            tasks.append(asyncio.ensure_future(answer_offers(socket, client)))
        ann_id = pids[0]
        bob_client = clients[1]
        await bob_client.wait_for_tracks({(ann_id, "video")}, timeout=15)

        await sockets[0].send_json_to({"type": "screen_share", "enabled": True})
        await wait_until(lambda: any(o.get("source") == "screen" for o in bob_client.track_owner.values()), 15)
        screen_mid = next(mid for mid, o in bob_client.track_owner.items() if o.get("source") == "screen")
        transceiver = next(t for t in bob_client.pc.getTransceivers() if t.mid == screen_mid)
        frame = await asyncio.wait_for(transceiver.receiver.track.recv(), 15)
        assert frame.width == 640
        peer = get_sfu().rooms[session.session_id].peers[ann_id]
        assert peer.published["screen"].frames_received > 0

        await sockets[0].send_json_to({"type": "screen_share", "enabled": False})
        await wait_until(lambda: not peer.is_publishing("screen"), 10)
        await wait_until(lambda: transceiver.currentDirection == "inactive", 15)
    finally:
        for task in tasks:
            task.cancel()
        for client in clients:
            await client.close()
        for socket in sockets:
            await socket.disconnect()


class ToneTrack(AudioStreamTrack):
    """A loud 440 Hz tone: aiortc's encoder writes its level into the audio-level header extension."""

    def __init__(self) -> None:
        super().__init__()
        self._samples = 0

    async def recv(self) -> AudioFrame:
        frame = await super().recv()
        count = frame.samples
        t = (np.arange(count) + self._samples) / 48000
        self._samples += count
        tone = (np.sin(2 * math.pi * 440 * t) * 20000).astype(np.int16).reshape(1, -1)
        loud = AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        loud.sample_rate, loud.pts, loud.time_base = 48000, frame.pts, fractions.Fraction(1, 48000)
        return loud


async def test_the_loudest_participant_becomes_the_dominant_speaker() -> None:
    """From RTP audio levels alone (no decoding), the SFU tells everyone who is speaking."""
    sfu = SFU(MediaConfig(media_ips=("127.0.0.1",)))
    signals: dict[str, list[MediaEvent]] = {"quiet": [], "loud": []}
    clients = {
        "quiet": MediaClient("quiet", {"audio": AudioStreamTrack()}),
        "loud": MediaClient("loud", {"audio": ToneTrack()}),
    }
    try:
        for pid, client in clients.items():
            await connect(sfu, "room", pid, client, kinds=("audio",))
            original = sfu.rooms["room"].peers[pid]._send_signal

            async def record(event: MediaEvent, pid: str = pid, original: Any = original) -> None:
                signals[pid].append(event)
                await original(event)

            sfu.rooms["room"].peers[pid]._send_signal = record
        expected = SpeakerEvent("loud")
        await wait_until(lambda: all(expected in messages for messages in signals.values()), timeout=15)
        assert sfu.rooms["room"].peers["quiet"].published["audio"].loudness < 10
        late_signals: list[MediaEvent] = []

        async def late_signal(event: MediaEvent) -> None:
            late_signals.append(event)

        await sfu.join("room", "late", late_signal, ("audio",))
        assert expected in late_signals, "a late joiner is told who speaks now"
    finally:
        for client in clients.values():
            await client.close()
        await sfu.close_all()


def test_dominant_speaker_has_hysteresis() -> None:
    """The floor changes only when someone is clearly louder for two checks; silence changes nothing."""
    speakers = SpeakerTracker()
    assert speakers.update({"a": 90.0, "b": 20.0}) == "a"
    assert speakers.update({"a": 90.0, "b": 93.0}) is None  # not clearly louder
    assert speakers.update({"a": 90.0, "b": 99.0}) is None  # clearly louder, once
    assert speakers.update({"a": 90.0, "b": 99.0}) == "b"
    assert speakers.update({"a": 5.0, "b": 3.0}) is None  # silence: b keeps the floor
    assert speakers.current == "b"
