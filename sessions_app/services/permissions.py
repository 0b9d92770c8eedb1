"""
What a participant may do in a call, beyond being in it: its role's and the session's locks' say.

Every check is the server's (a client that hides a button proves nothing): moderation and recording
are a moderator's, and a session's locked settings can forbid chat, hands, screen shares,
recording and moderation itself (``session_settings.forbidden_messages``).
"""

from __future__ import annotations

from .. import errors
from ..errors import CallsError

# Actions only a moderator may take.
MODERATOR_ONLY = frozenset({"moderate", "end_for_all", "recording"})
# The lock that forbids an action, where it is not the action's own name: ending the call for
# everyone is moderation too (a call without moderation has no such button).
LOCKED_BY = {"end_for_all": "moderate"}


def check(action: str, *, is_moderator: bool, forbidden: frozenset[str]) -> None:
    """Raise CallsError(AUTH_ERR_NO_ACCESS) with ``details.reason`` when ``action`` is not allowed."""
    if action in MODERATOR_ONLY and not is_moderator:
        raise CallsError(errors.AUTH_ERR_NO_ACCESS, "Only a moderator can do this.", {"reason": errors.REFUSAL_ROLE})
    if LOCKED_BY.get(action, action) in forbidden:
        raise CallsError(
            errors.AUTH_ERR_NO_ACCESS, "The host does not allow this in this call.", {"reason": errors.REFUSAL_LOCKED}
        )
