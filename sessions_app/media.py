"""The SFU this process hosts, configured from Django settings on first use."""

from __future__ import annotations

from django.conf import settings

from .live import reset_live_participants
from .sfu import SFU, MediaConfig

_sfu: SFU | None = None


def media_config_from_settings() -> MediaConfig:
    return MediaConfig(
        media_ips=tuple(settings.CALLS_MEDIA_IPS),
        announced_ip=settings.CALLS_MEDIA_ANNOUNCED_IP,
        ice_servers=tuple(settings.CALLS_ICE_SERVERS),
    )


def get_sfu() -> SFU:
    """The process-wide SFU (the embedded default: media inside Daphne)."""
    global _sfu
    if _sfu is None:
        _sfu = SFU(media_config_from_settings())
    return _sfu


def current_sfu() -> SFU | None:
    """The SFU if this process has started one (reading it must not start one)."""
    return _sfu


async def reset_sfu() -> None:
    """Close every call, forget the SFU and the participants waiting to resume (tests, shutdown)."""
    global _sfu
    await reset_live_participants()
    if _sfu is not None:
        await _sfu.close_all()
    _sfu = None
