"""
The boundary between the app and media: ``MediaService``, the events the SFU says, how signaling
renders them and how the cluster carries them, and what stays inside ``sessions_app/sfu``.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from pathlib import Path

import pytest
from channels.layers import InMemoryChannelLayer

from sessions_app import errors
from sessions_app.cluster import messages
from sessions_app.cluster.placement import NoMediaWorker
from sessions_app.cluster.remote import RemoteSFU
from sessions_app.sfu import (
    SFU,
    DominantSpeaker,
    MediaConfig,
    MediaError,
    MediaEvent,
    MediaService,
    MediaUnavailable,
    NegotiationFailed,
    NotRecording,
    Offer,
    OfferedTrack,
    RecordedTrack,
)
from sessions_app.signaling import protocol
from sessions_app.signaling.live import MAX_PENDING_SIGNALS, SignalRoute

APP = Path(__file__).resolve().parent.parent / "sessions_app"

OFFER = Offer(
    sdp="v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n",
    publish={"audio": "0", "video": "1"},
    tracks={
        "2": OfferedTrack(participant_id="bob", kind="audio", source="audio"),
        "3": OfferedTrack(participant_id="bob", kind="video", source="screen"),
    },
)
EVENTS: list[MediaEvent] = [OFFER, DominantSpeaker("bob"), NegotiationFailed("No offer is waiting for an answer.")]


def test_an_offer_renders_as_the_offer_message_browsers_get() -> None:
    """The offer event becomes the ``offer`` JSON the SDK reads, key for key and in the same order."""
    expected = {
        "type": "offer",
        "sdp": OFFER.sdp,
        "publish": {"audio": "0", "video": "1"},
        "tracks": {
            "2": {"participantId": "bob", "kind": "audio", "source": "audio"},
            "3": {"participantId": "bob", "kind": "video", "source": "screen"},
        },
    }
    assert json.dumps(protocol.media_event_message(OFFER)) == json.dumps(expected)


def test_a_dominant_speaker_renders_as_its_message() -> None:
    """Who speaks now becomes ``{"type": "dominant_speaker", "participantId": ...}``."""
    rendered = protocol.media_event_message(DominantSpeaker("loud"))
    assert json.dumps(rendered) == json.dumps({"type": "dominant_speaker", "participantId": "loud"})


def test_a_negotiation_failure_renders_as_a_media_negotiation_error() -> None:
    """A worker's failed command reaches the browser as the error the embedded SFU's consumer sends."""
    rendered = protocol.media_event_message(NegotiationFailed("The media server failed."))
    assert rendered == protocol.error_message(errors.ERROR_MEDIA_NEGOTIATION, "The media server failed.")


def test_every_event_type_is_covered_here() -> None:
    """A new event needs rendering and a codec: this list (and the tests using it) must name it."""
    assert {type(event) for event in EVENTS} == set(typing.get_args(MediaEvent))


@pytest.mark.parametrize("event", EVENTS, ids=lambda event: type(event).__name__)
def test_the_cluster_codec_round_trips_every_event(event: MediaEvent) -> None:
    """Encoded for the channel layer (plain values only) and decoded, an event is what it was."""
    encoded = messages.signal("ann", event)["event"]
    assert json.loads(json.dumps(encoded)) == encoded
    assert messages.decode_event(encoded) == event


@pytest.mark.parametrize(
    "data", [{}, {"event": "shout"}, {"event": "offer", "sdp": "v=0"}, {"event": "offer", "tracks": 1}]
)
def test_the_cluster_codec_refuses_what_it_did_not_encode(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        messages.decode_event(data)


def test_recorded_tracks_and_recording_errors_cross_the_cluster_as_plain_values() -> None:
    """A worker's answer to stop_recording, and the MediaError a request raised, come back as they were."""
    track = RecordedTrack("ann", "screen", "/rec/ann-screen-1.webm", "vp8", 1200, 30_000, 450, 2_000_000, 3)
    encoded = messages.reply("r1", tracks=messages.encode_tracks([track]))
    assert json.loads(json.dumps(encoded)) == encoded
    assert messages.reply_error(encoded) is None
    assert messages.decode_tracks(encoded["tracks"]) == [track]
    with pytest.raises(ValueError):
        messages.decode_tracks([{"participant_id": "ann"}])
    error = messages.reply_error(json.loads(json.dumps(messages.error_reply("r2", NotRecording("s1")))))
    assert isinstance(error, NotRecording) and str(error) == "s1"

    class Unexpected(MediaError):
        pass

    assert type(messages.reply_error(messages.error_reply("r3", Unexpected("boom")))) is MediaError


def protocol_members() -> dict[str, object]:
    return {
        name: member
        for name, member in vars(MediaService).items()
        if not name.startswith("_") and (callable(member) or isinstance(member, property))
    }


def test_the_interface_declares_what_the_app_uses() -> None:
    expected = {
        "process_id",
        "reserve",
        "join",
        "handle_answer",
        "set_screen_share",
        "set_views",
        "repeat_offer",
        "set_forwarding",
        "leave",
        "start_recording",
        "stop_recording",
        "participant_stats",
        "stats",
        "close_all",
    }
    assert set(protocol_members()) == expected


def embedded() -> MediaService:
    return SFU(MediaConfig(media_ips=("127.0.0.1",)))


def remote() -> MediaService:
    async def nothing(*args: object) -> None:
        return None

    return RemoteSFU(InMemoryChannelLayer(), nothing, nothing)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [embedded, remote], ids=["SFU", "RemoteSFU"])
def test_both_media_services_implement_the_interface(make: typing.Callable[[], MediaService]) -> None:
    """The embedded SFU and the workers' client have every command, with the same parameters and kind."""
    service = make()
    for name, declared in protocol_members().items():
        assert hasattr(service, name), f"{type(service).__name__} has no {name}"
        if isinstance(declared, property):
            assert isinstance(getattr(service, name), str)
            continue
        actual = getattr(service, name)
        assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(declared), name
        declared_parameters = list(inspect.signature(declared).parameters)[1:]  # without self
        assert list(inspect.signature(actual).parameters) == declared_parameters, name


def test_no_media_worker_is_the_interface_s_media_unavailable() -> None:
    assert issubclass(NoMediaWorker, MediaUnavailable)


async def test_a_route_renders_events_and_queues_them_while_the_socket_is_away() -> None:
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    route = SignalRoute(send)
    await route(DominantSpeaker("ann"))
    assert sent == [protocol.dominant_speaker_message("ann")]
    route.detach()
    for _ in range(MAX_PENDING_SIGNALS + 1):
        await route(OFFER)
    later: list[dict[str, object]] = []

    async def send_later(message: dict[str, object]) -> None:
        later.append(message)

    assert await route.attach(send_later) is True
    assert later == [protocol.media_event_message(OFFER)] * MAX_PENDING_SIGNALS
    assert await route.attach(send_later) is False


def sources_outside_the_sfu() -> list[Path]:
    return [path for path in APP.rglob("*.py") if "sfu" not in path.relative_to(APP).parts[:1]]


def test_nothing_outside_the_sfu_imports_its_modules() -> None:
    """The app uses ``sessions_app.sfu`` (its ``__init__``), never ``sessions_app.sfu.<module>``."""
    internal = re.compile(r"^\s*(from|import)\s+(\.+sfu\.|sessions_app\.sfu\.)", re.MULTILINE)
    offenders = [str(path) for path in sources_outside_the_sfu() if internal.search(path.read_text())]
    assert offenders == []


def test_aiortc_private_names_are_written_only_in_compat() -> None:
    """Every private aiortc name the SFU touches is in ``sfu/compat.py``, where start-up checks them."""
    private = re.compile(
        r"_RTCRtp(Receiver|Sender)__|\._(handle_rtp_packet|handle_rtcp_data|handle_rtcp_packet|send_rtcp\w*|run_rtp"
        r"|retransmit|send_keyframe|tx_srtp|nominated|connection|enabled|ssrc|rtx_ssrc)\b"
    )
    offenders = [
        f"{path}:{number}"
        for path in APP.rglob("*.py")
        if path.name != "compat.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        # Docstrings may name what they stand in for (``RTCRtpSender._retransmit``); code may not.
        if private.search(re.sub(r"``[^`]*``", "", line).replace("self._", "self."))
    ]
    assert offenders == []
