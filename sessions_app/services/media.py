"""
This process's way to media, configured from Django settings on first use.

With ``CALLS_SFU=embedded`` (the default) that is an SFU inside this process; with
``workers``, a ``RemoteSFU`` that reaches the SFU workers (``manage.py runsfu``)
through the channel layer. The consumer makes the same calls on either.
"""

from __future__ import annotations

from channels.layers import get_channel_layer
from django.conf import settings

from ..cluster.remote import RemoteSFU
from ..sfu import SFU, MediaConfig, MediaService
from ..signaling.live import reset_live_participants

_sfu: MediaService | None = None


def media_config_from_settings() -> MediaConfig:
    return MediaConfig(
        media_ips=tuple(settings.CALLS_MEDIA_IPS),
        announced_ip=settings.CALLS_MEDIA_ANNOUNCED_IP,
        ice_servers=tuple(settings.CALLS_ICE_SERVERS),
    )


def get_sfu() -> MediaService:
    """The process-wide SFU: embedded (media inside Daphne) or the workers' (``CALLS_SFU=workers``)."""
    global _sfu
    if _sfu is None:
        if settings.CALLS_SFU == "workers":
            from .departures import close_orphans, move_participants  # departures imports this module

            _sfu = RemoteSFU(get_channel_layer(), move_participants, close_orphans)
        else:
            _sfu = SFU(media_config_from_settings())
    return _sfu


def current_sfu() -> SFU | None:
    """The SFU hosting rooms in this process, if it has started one (reading it must not start one)."""
    return _sfu if isinstance(_sfu, SFU) else None


async def reset_sfu() -> None:
    """Close every call, forget the SFU and the participants waiting to resume (tests, shutdown)."""
    global _sfu
    await reset_live_participants()
    if _sfu is not None:
        await _sfu.close_all()
    _sfu = None
