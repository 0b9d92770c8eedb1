"""SessionSettings: validation, layers (app, session, participant), and locks the server enforces."""

from __future__ import annotations

import io
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.core.management import CommandError, call_command
from django.test import Client

from sessions_app import errors
from sessions_app.errors import CallsError
from sessions_app.models import App, CallSession
from sessions_app.services.media import get_sfu
from sessions_app.services.session_settings import DEFAULTS, clean_settings, effective_settings, forbidden_messages
from tests.calls_state import reset_calls
from tests.test_consumer import guest_token, open_socket, receive_type
from tests.test_sfu import wait_until


def test_every_option_has_its_documented_default() -> None:
    assert DEFAULTS["hideRecordingButton"] is True and DEFAULTS["hideChatButton"] is True
    assert DEFAULTS["hideShareInviteButton"] is True and DEFAULTS["layout"] == "TILE"
    assert DEFAULTS["idleTimeoutPeriodBeforePrompt"] == 60_000 and DEFAULTS["idleTimeoutPeriodAfterPrompt"] == 120_000
    assert len(DEFAULTS) == 33


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"layout": "GRID"}, "layout"),
        ({"startAudioMuted": "yes"}, "startAudioMuted"),
        ({"idleTimeoutPeriodBeforePrompt": -1}, "idleTimeoutPeriodBeforePrompt"),
        ({"idleTimeoutPeriodAfterPrompt": True}, "idleTimeoutPeriodAfterPrompt"),
        ({"title": "x" * 201}, "title"),
        ({"hideEverything": True}, "hideEverything"),
    ],
)
def test_invalid_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(CallsError) as info:
        clean_settings(settings)
    assert info.value.code == errors.ERROR_JSON_EXCEPTION and info.value.details["field"] == field


def test_values_are_normalised() -> None:
    assert clean_settings({"sessionType": "audio", "layout": "spotlight"}) == {
        "sessionType": "VOICE",
        "layout": "SPOTLIGHT",
    }


def test_layers_merge_and_locks_hold() -> None:
    """Participant over session over app over defaults, except what the session locks."""
    merged = effective_settings(
        {"layout": "SIDEBAR", "hideChatButton": False},
        {"startAudioMuted": True, "layout": "SPOTLIGHT"},
        ["startAudioMuted"],
        {"startAudioMuted": False, "layout": "TILE", "title": "Mine"},
    )
    assert (merged["startAudioMuted"], merged["layout"], merged["hideChatButton"], merged["title"]) == (
        True, "TILE", False, "Mine",
    )  # fmt: skip
    assert merged["hideRecordingButton"] is True


def test_a_voice_session_stays_voice_whatever_the_join_asks() -> None:
    """A join cannot make a VOICE session a video call; it may join a VIDEO session as VOICE."""
    assert effective_settings({}, {"sessionType": "VOICE"}, [], {"sessionType": "VIDEO"})["sessionType"] == "VOICE"
    assert effective_settings({}, {"sessionType": "VIDEO"}, [], {"sessionType": "VOICE"})["sessionType"] == "VOICE"
    assert effective_settings({}, {"sessionType": "VIDEO"}, [], {})["sessionType"] == "VIDEO"


def test_locked_options_forbid_their_messages() -> None:
    settings = {
        **DEFAULTS,
        "hideScreenSharingButton": True,
        "hideChatButton": True,
        "enableParticipantContextMenu": False,
    }
    locked = ["hideScreenSharingButton", "hideChatButton", "enableParticipantContextMenu"]
    assert forbidden_messages(settings, locked) == {"screen_share", "chat", "moderate"}
    assert forbidden_messages(settings, []) == set()


@pytest.mark.django_db
def test_create_session_command_takes_settings_and_locks() -> None:
    call_command("create_session", "--setting", "startAudioMuted=true", "--setting", "layout=SPOTLIGHT",
                 "--lock", "startAudioMuted", stdout=io.StringIO())  # fmt: skip
    session = CallSession.objects.get()
    assert session.settings == {"startAudioMuted": True, "layout": "SPOTLIGHT"}
    assert session.locked_settings == ["startAudioMuted"]
    with pytest.raises(CommandError, match="layout"):
        call_command("create_session", "--setting", "layout=GRID", stdout=io.StringIO())


@pytest.mark.django_db
def test_rest_sessions_carry_settings(client: Client) -> None:
    app, api_key, _ = App.create_with_keys("S")
    headers = {"appid": app.app_id, "apikey": api_key}
    body = {"settings": {"hideChatButton": False}, "lockedSettings": ["hideChatButton"]}
    created = client.post("/api/v1/sessions", body, content_type="application/json", headers=headers).json()
    assert created["data"]["settings"] == {"hideChatButton": False}
    assert created["data"]["lockedSettings"] == ["hideChatButton"]
    bad = client.post("/api/v1/sessions", {"settings": {"layout": 3}}, content_type="application/json", headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "layout"


@pytest.mark.django_db(transaction=True)
class TestEnforcement:
    @pytest.fixture(autouse=True)
    async def loopback(self, settings: Any) -> Any:
        settings.CALLS_MEDIA_IPS = ["127.0.0.1"]
        yield
        await reset_calls()

    async def join(self, session: CallSession, **fields: Any) -> tuple[Any, dict[str, Any]]:
        socket = await open_socket(session.session_id)
        token = await guest_token(session.session_id)
        await socket.send_json_to({"type": "join", "token": token, **fields})
        return socket, await receive_type(socket, "joined")

    async def test_joined_reports_effective_settings(self) -> None:
        app = await database_sync_to_async(lambda: App.create_with_keys("E")[0])()
        app.default_settings = {"layout": "SIDEBAR", "hideChatButton": False}
        await database_sync_to_async(app.save)()
        session = await database_sync_to_async(CallSession.objects.create)(
            app=app, allow_guests=True, settings={"layout": "SPOTLIGHT"}, locked_settings=["layout"]
        )
        socket, joined = await self.join(session, settings={"layout": "TILE", "enableNotifications": False})
        assert joined["settings"]["layout"] == "SPOTLIGHT"
        assert joined["settings"]["hideChatButton"] is False and joined["settings"]["enableNotifications"] is False
        assert joined["lockedSettings"] == ["layout"]
        await socket.disconnect()

    async def test_unlocked_session_defaults_fill_what_the_join_leaves_out(self) -> None:
        """The session's title, type and settings (over its app's) reach a join that does not set them."""
        app = await database_sync_to_async(lambda: App.create_with_keys("D")[0])()
        app.default_settings = {"hideChatButton": False, "layout": "SIDEBAR"}
        await database_sync_to_async(app.save)()
        session = await database_sync_to_async(CallSession.objects.create)(
            app=app, allow_guests=True, title="Standup", session_type="VOICE", settings={"layout": "SPOTLIGHT"}
        )
        socket, joined = await self.join(session, settings={"enableNotifications": False})
        effective = joined["settings"]
        assert (effective["title"], effective["sessionType"], effective["layout"]) == ("Standup", "VOICE", "SPOTLIGHT")
        assert effective["hideChatButton"] is False and effective["enableNotifications"] is False
        await socket.disconnect()
        socket, joined = await self.join(session, settings={"layout": "TILE", "title": "Mine"})
        assert (joined["settings"]["layout"], joined["settings"]["title"]) == ("TILE", "Mine")
        await socket.disconnect()

    async def test_locked_start_muted_is_enforced_by_the_server(self) -> None:
        """A host who locks startAudioMuted gets a muted participant, whose audio the SFU does not forward."""
        session = await database_sync_to_async(CallSession.objects.create)(
            settings={"startAudioMuted": True}, locked_settings=["startAudioMuted"]
        )
        socket, joined = await self.join(session, audioMuted=False, settings={"startAudioMuted": False})
        assert joined["participant"]["audioMuted"] is True
        pid = joined["participantId"]
        sfu = get_sfu()
        await wait_until(lambda: session.session_id in sfu.rooms and pid in sfu.rooms[session.session_id].peers)
        assert sfu.rooms[session.session_id].peers[pid].published["audio"].forwarding is False
        await socket.disconnect()

    async def test_locked_features_are_refused(self) -> None:
        session = await database_sync_to_async(CallSession.objects.create)(
            settings={"hideChatButton": True, "hideScreenSharingButton": True},
            locked_settings=["hideChatButton", "hideScreenSharingButton"],
        )
        socket, _ = await self.join(session)
        for message in ({"type": "chat", "text": "hi"}, {"type": "screen_share", "enabled": True}):
            await socket.send_json_to(message)
            assert (await receive_type(socket, "error"))["code"] == errors.AUTH_ERR_NO_ACCESS
        await socket.disconnect()

    async def test_invalid_join_settings_are_refused_with_the_field(self) -> None:
        session = await database_sync_to_async(CallSession.objects.create)()
        socket = await open_socket(session.session_id)
        token = await guest_token(session.session_id)
        await socket.send_json_to({"type": "join", "token": token, "settings": {"layout": "GRID"}})
        error = await receive_type(socket, "error")
        assert error["code"] == errors.ERROR_JSON_EXCEPTION and error["details"]["field"] == "layout"
        await socket.disconnect()
