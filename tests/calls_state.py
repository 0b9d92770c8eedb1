"""Between tests: no call, participant or SFU of one test is left for the next."""

from __future__ import annotations

from sessions_app.services.media import reset_sfu
from sessions_app.signaling.live import reset_live_participants


async def reset_calls() -> None:
    """Forget the participants waiting to resume, then close every call and the SFU."""
    await reset_live_participants()
    await reset_sfu()
