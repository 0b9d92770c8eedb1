"""services/permissions.py: moderation is a moderator's, and a session's locks forbid what they name."""

from __future__ import annotations

import pytest

from sessions_app import errors
from sessions_app.errors import CallsError
from sessions_app.services.permissions import check


def refusal(action: str, *, is_moderator: bool = False, forbidden: frozenset[str] = frozenset()) -> str | None:
    try:
        check(action, is_moderator=is_moderator, forbidden=forbidden)
    except CallsError as exc:
        assert exc.code == errors.AUTH_ERR_NO_ACCESS
        return str(exc.details["reason"])
    return None


@pytest.mark.parametrize("action", ["moderate", "end_for_all"])
def test_moderation_is_a_moderator_s(action: str) -> None:
    assert refusal(action) == errors.REFUSAL_ROLE
    assert refusal(action, is_moderator=True) is None


def test_a_lock_forbids_what_it_names_to_everyone_moderators_included() -> None:
    assert refusal("chat", forbidden=frozenset({"chat"})) == errors.REFUSAL_LOCKED
    assert refusal("chat", is_moderator=True, forbidden=frozenset({"chat"})) == errors.REFUSAL_LOCKED
    assert refusal("hand", forbidden=frozenset({"chat"})) is None
    # Ending the call for everyone is moderation: the lock on moderation forbids it too.
    assert refusal("end_for_all", is_moderator=True, forbidden=frozenset({"moderate"})) == errors.REFUSAL_LOCKED


def test_the_role_is_checked_before_the_lock() -> None:
    assert refusal("moderate", forbidden=frozenset({"moderate"})) == errors.REFUSAL_ROLE
