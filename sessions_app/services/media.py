"""
This process's way to media (a ``MediaService``), configured from Django settings on first use.

With ``CALLS_SFU=embedded`` (the default) that is an SFU inside this process; with
``workers``, a ``RemoteSFU`` that reaches the SFU workers (``manage.py runsfu``)
through the channel layer. Everything else makes the same calls on either.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from channels.layers import get_channel_layer
from django.conf import settings

from .. import errors
from ..cluster.processes import Orphan
from ..cluster.remote import RemoteSFU
from ..errors import CallsError
from ..sfu import SFU, MediaConfig, MediaService, NegotiationError, UnknownParticipant

MediaLost = Callable[[str, list[str]], Awaitable[None]]
Orphaned = Callable[[list[Orphan]], Awaitable[list[Orphan]]]

_sfu: MediaService | None = None
_on_media_lost: MediaLost | None = None
_on_orphans: Orphaned | None = None


def media_config_from_settings() -> MediaConfig:
    return MediaConfig(
        media_ips=tuple(settings.CALLS_MEDIA_IPS),
        announced_ip=settings.CALLS_MEDIA_ANNOUNCED_IP,
        ice_servers=tuple(settings.CALLS_ICE_SERVERS),
        receive_from_socket=settings.CALLS_SFU_RECEIVE_FROM_SOCKET,
    )


def connect(on_media_lost: MediaLost, on_orphans: Orphaned) -> None:
    """
    Who hears, with SFU workers, that a worker died (``on_media_lost(session_id, participant_ids)``:
    the signaling layer has their sockets rejoin) and that a Daphne process died leaving
    participants behind (``on_orphans``: departures closes them). Called once at start-up (``apps.py``).
    """
    global _on_media_lost, _on_orphans
    _on_media_lost, _on_orphans = on_media_lost, on_orphans


async def _lose_media(session_id: str, participant_ids: list[str]) -> None:
    if _on_media_lost is not None:
        await _on_media_lost(session_id, participant_ids)


async def _close_orphans(orphans: list[Orphan]) -> list[Orphan]:
    return await _on_orphans(orphans) if _on_orphans is not None else []


def get_sfu() -> MediaService:
    """The process-wide SFU: embedded (media inside Daphne) or the workers' (``CALLS_SFU=workers``)."""
    global _sfu
    if _sfu is None:
        if settings.CALLS_SFU == "workers":
            _sfu = RemoteSFU(get_channel_layer(), _lose_media, _close_orphans)
        else:
            _sfu = SFU(media_config_from_settings())
    return _sfu


def current_sfu() -> SFU | None:
    """The SFU hosting rooms in this process, if it has started one (reading it must not start one)."""
    return _sfu if isinstance(_sfu, SFU) else None


async def apply_media_state(session_id: str, participant_id: str, audio_muted: bool, video_paused: bool) -> None:
    """The SFU forwards only what the participant has on: muted means silent for everyone."""
    media = get_sfu()
    await media.set_forwarding(session_id, participant_id, "audio", not audio_muted)
    await media.set_forwarding(session_id, participant_id, "video", not video_paused)


async def reset_sfu() -> None:
    """Close every call and forget the SFU (tests, shutdown)."""
    global _sfu
    if _sfu is not None:
        await _sfu.close_all()
    _sfu = None


async def answer(session_id: str, participant_id: str, sdp: str) -> None:
    """A participant's answer to the SFU's latest offer; CallsError(ERROR_MEDIA_NEGOTIATION) if refused."""
    try:
        await get_sfu().handle_answer(session_id, participant_id, sdp)
    except (NegotiationError, UnknownParticipant) as exc:
        raise CallsError(errors.ERROR_MEDIA_NEGOTIATION, str(exc)) from None


async def set_views(session_id: str, participant_id: str, views: list[tuple[str, str, int, int]]) -> None:
    """How big the participant shows each video it receives: (publisher, source, width, height)s."""
    await get_sfu().set_views(session_id, participant_id, views)


async def repeat_offer(session_id: str, participant_id: str) -> None:
    """Send the participant the offer still waiting for its answer again (its socket was replaced)."""
    await get_sfu().repeat_offer(session_id, participant_id)


async def release(session_id: str, participant_id: str) -> None:
    """Free a participant's media (a no-op when it has none here); its leave is recorded elsewhere."""
    await get_sfu().leave(session_id, participant_id)
