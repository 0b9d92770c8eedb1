"""
Call tokens: signed, expiring, revocable, bound to one session and one identity.

A call token is an HS256 JWT (the format LiveKit and Jitsi hand out) signed
with a key derived from SECRET_KEY. Its ``jti`` names a ``CallToken`` row,
so a token can be listed and revoked; verification checks the signature,
the expiry, the session it was issued for and that row.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .models import AppUser, CallSession, CallToken, Role

DEFAULT_CALL_TOKEN_TTL_SECONDS = 6 * 60 * 60
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "calls"
GUEST_UID_PREFIX = "guest_"
# A share-link visitor who created the call (or holds its host link): no user of any app, not a guest.
HOST_UID_PREFIX = "host_"


class CallTokenError(Exception):
    """A call token that cannot be used here (ERROR_CALL_TOKEN)."""


@dataclass(frozen=True, slots=True)
class CallIdentity:
    """Who a verified call token says the bearer is."""

    jti: str
    session_id: str
    uid: str
    name: str
    is_guest: bool
    role: str
    # The user's picture (an http(s) URL), or "" for guests, hosts and users without one.
    avatar: str
    # Whether the bearer may join under another name than the token's (guests, hosts, renaming apps).
    may_rename: bool

    @property
    def is_moderator(self) -> bool:
        return self.role == Role.MODERATOR


class CallTokenGenerator:
    """Issues and verifies call tokens; the clock is injectable for tests, as in Django's token generators."""

    key_salt = "sessions_app.tokens.CallTokenGenerator"

    def __init__(self, now: Callable[[], datetime] = timezone.now) -> None:
        self._now = now

    @property
    def ttl_seconds(self) -> int:
        return int(getattr(settings, "CALLS_CALL_TOKEN_TTL_SECONDS", DEFAULT_CALL_TOKEN_TTL_SECONDS))

    def _key(self) -> bytes:
        return salted_hmac(self.key_salt, "call-token-signing-key", algorithm="sha256").digest()

    def issue(
        self, session: CallSession, user: AppUser | None, display_name: str, role: str = Role.PARTICIPANT
    ) -> tuple[str, CallToken]:
        """
        Issue a token for ``user`` to join ``session`` with ``role``. Without a user, the bearer is a
        guest named ``display_name``, or, as a moderator, the host who created the call: guests are
        never moderators.
        """
        if role not in Role.values:
            raise ValueError(f"role must be one of {Role.values}")
        now = self._now()
        jti = secrets.token_hex(16)
        if user is not None:
            uid = user.uid
        else:
            uid = (HOST_UID_PREFIX if role == Role.MODERATOR else GUEST_UID_PREFIX) + secrets.token_hex(6)
        record = CallToken.objects.create(
            jti=jti,
            session=session,
            user=user,
            uid=uid,
            display_name=display_name,
            is_guest=user is None and role != Role.MODERATOR,
            role=role,
            issued_at=now,
            expires_at=now + timedelta(seconds=self.ttl_seconds),
        )
        claims = {
            "iss": JWT_ISSUER,
            "aud": session.app.app_id if session.app else JWT_ISSUER,
            "sub": uid,
            "sid": session.session_id,
            "jti": jti,
            "role": role,
            # Read by the SDK before it opens any device: a VOICE call never asks for the camera.
            "sessionType": session.session_type,
            "iat": int(now.timestamp()),
            "exp": int(record.expires_at.timestamp()),
        }
        return jwt.encode(claims, self._key(), algorithm=JWT_ALGORITHM), record

    def verify(self, token: str, session_id: str) -> CallIdentity:
        """Return the identity in ``token`` if it may join ``session_id``; raise CallTokenError otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._key(),
                algorithms=[JWT_ALGORITHM],
                issuer=JWT_ISSUER,
                # Time is checked below against the generator's (injectable) clock.
                options={
                    "require": ["exp", "iat", "jti", "sid", "sub"],
                    "verify_aud": False,
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except (jwt.InvalidTokenError, UnicodeError):  # PyJWT encodes str tokens as UTF-8 first
            raise CallTokenError("The call token is invalid.") from None
        if not isinstance(claims["exp"], int) or claims["exp"] <= self._now().timestamp():
            raise CallTokenError("The call token has expired.")
        if claims["sid"] != session_id:
            raise CallTokenError("The call token is for another session.")
        try:
            record = CallToken.objects.select_related("session__app", "user").get(jti=claims["jti"])
        except CallToken.DoesNotExist:
            raise CallTokenError("The call token is unknown.") from None
        if record.revoked_at is not None:
            raise CallTokenError("The call token has been revoked.")
        if record.expires_at <= self._now():
            # The record is the authority: a JWT re-signed with a later expiry changes nothing.
            raise CallTokenError("The call token has expired.")
        if record.session.session_id != session_id or record.uid != claims["sub"]:
            raise CallTokenError("The call token does not match its record.")
        app = record.session.app
        return CallIdentity(
            jti=record.jti,
            session_id=session_id,
            uid=record.uid,
            name=record.display_name,
            is_guest=record.is_guest,
            # The record, not the JWT, is the authority on what the bearer may do.
            role=record.role,
            avatar=record.user.avatar if record.user is not None else "",
            may_rename=record.user_id is None or (app is not None and app.allow_renaming),
        )

    def revoke(self, jti: str) -> None:
        """Revoke one token (a removed participant's): it admits no one any more."""
        CallToken.objects.filter(jti=jti, revoked_at__isnull=True).update(revoked_at=self._now())

    def revoke_for_session(self, session: CallSession) -> int:
        return CallToken.objects.filter(session=session, revoked_at__isnull=True).update(revoked_at=self._now())


call_tokens = CallTokenGenerator()
