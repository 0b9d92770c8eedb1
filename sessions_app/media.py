"""The SFU this process hosts, configured from Django settings on first use."""

from __future__ import annotations

from django.conf import settings

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


async def reset_sfu() -> None:
    """Close every call and forget the SFU (tests, shutdown)."""
    global _sfu
    if _sfu is not None:
        await _sfu.close_all()
    _sfu = None
