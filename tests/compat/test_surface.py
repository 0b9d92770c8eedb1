"""
The SDK's public surface against CometChat's: every name documented.py lists exists on CometChatCalls with
the documented type, and each test names what is missing when one does not.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import Person
from .documented import (
    CALL_LOG_GETTERS,
    CALL_LOG_PARTICIPANT_GETTERS,
    CALL_LOG_REQUEST,
    CALL_LOG_REQUEST_BUILDER,
    CALL_USER_GETTERS,
    NOT_BUILT_HERE,
    RECORDING_GETTERS,
    V4_APP_SETTINGS_BUILDER,
    V4_ASPECT_RATIO,
    V4_CALL_SETTINGS_BUILDER,
    V4_CALL_SETTINGS_GETTERS,
    V4_CLASSES,
    V4_MAIN_VIDEO_CONTAINER_SETTING,
    V4_METHODS,
    V4_MODE,
    V4_POSITION,
    V5_CLASSES,
    V5_CONSTANTS,
    V5_EVENTS,
    V5_METHODS,
)

pytestmark = pytest.mark.browser


def assert_has(someone: Person, of: str, names: tuple[str, ...], type_: str) -> None:
    """``of`` (a JS expression of ``CometChatCalls``) has each of ``names``, of type ``type_``; else say which not."""
    missing = someone.run(
        f"""
        async ({{ names, type }}) => {{
          const CometChatCalls = window.CometChatCalls;
          const target = {of};
          return names.filter((name) => typeof target[name] !== type);
        }}
        """,
        {"names": list(names), "type": type_},
    )
    assert missing == [], f"{of} lacks these documented names (or they are not a {type_}): {', '.join(missing)}"


def test_no_required_name_is_one_excluded_as_not_built_here() -> None:
    """
    The exclusions (v4's recording settings, transcription, streaming, virtual backgrounds, picture-in-picture)
    stay visible.
    """
    required = {
        *V5_METHODS,
        *V5_EVENTS,
        *V5_CLASSES,
        *V4_CLASSES,
        *V4_METHODS,
        *V4_CALL_SETTINGS_BUILDER,
        *V4_CALL_SETTINGS_GETTERS,
    }
    assert required.isdisjoint(NOT_BUILT_HERE)


def test_the_documented_import_gives_the_sdk(person: Callable[[], Person]) -> None:
    """`import { CometChatCalls } from ...` (the docs' import) is the object the page's module set up."""
    same = person().run('async () => (await import("/static/calls/calls.js")).CometChatCalls === window.CometChatCalls')
    assert same is True


def test_every_documented_v5_method_is_a_function(person: Callable[[], Person]) -> None:
    assert_has(person(), "CometChatCalls", V5_METHODS, "function")


def test_v5_getters_are_synchronous(person: Callable[[], Person]) -> None:
    """The documented synchronous getters return values, not promises (null, false, [] or undefined before use)."""
    values = person().run(
        """
        async () => {
          const CometChatCalls = window.CometChatCalls;
          await CometChatCalls.init({ appId: "app", region: "us" });
          return {
            getLoggedInUser: CometChatCalls.getLoggedInUser(),
            getUserAuthToken: CometChatCalls.getUserAuthToken(),
            isUserLoggedIn: CometChatCalls.isUserLoggedIn(),
            getAudioInputDevices: CometChatCalls.getAudioInputDevices(),
            getAudioOutputDevices: CometChatCalls.getAudioOutputDevices(),
            getVideoInputDevices: CometChatCalls.getVideoInputDevices(),
            getCurrentAudioInputDevice: String(CometChatCalls.getCurrentAudioInputDevice()),
            getCurrentAudioOutputDevice: String(CometChatCalls.getCurrentAudioOutputDevice()),
            getCurrentVideoInputDevice: String(CometChatCalls.getCurrentVideoInputDevice()),
          };
        }
        """
    )
    assert values == {
        "getLoggedInUser": None,
        "getUserAuthToken": None,
        "isUserLoggedIn": False,
        "getAudioInputDevices": [],
        "getAudioOutputDevices": [],
        "getVideoInputDevices": [],
        "getCurrentAudioInputDevice": "undefined",
        "getCurrentAudioOutputDevice": "undefined",
        "getCurrentVideoInputDevice": "undefined",
    }


def test_the_documented_constants(person: Callable[[], Person]) -> None:
    """CometChatCalls.constants: LAYOUT, TYPE and CAMERA_FACING, as documented."""
    constants = person().run("async () => window.CometChatCalls.constants")
    assert {name: constants.get(name) for name in V5_CONSTANTS} == V5_CONSTANTS


def test_every_documented_event_name_registers_without_a_warning(person: Callable[[], Person]) -> None:
    """
    addEventListener takes every documented name silently and returns an unsubscribe function; a name that
    is not an event warns (which shows the console is heard).
    """
    someone = person()
    with someone.page.expect_console_message(lambda message: "onNotAnEvent" in message.text):
        returned = someone.run(
            """
            async (names) => {
              const CometChatCalls = window.CometChatCalls;
              const returned = names.map((name) => typeof CometChatCalls.addEventListener(name, () => {}));
              CometChatCalls.addEventListener("onNotAnEvent", () => {});
              return returned;
            }
            """,
            list(V5_EVENTS),
        )
    assert returned == ["function"] * len(V5_EVENTS)
    warnings = [line for line in someone.console if "[calls]" in line]
    assert len(warnings) >= 1 and "onNotAnEvent" in warnings[-1]
    unknown = [name for name in V5_EVENTS if any(f'"{name}"' in line for line in warnings)]
    assert warnings[:-1] == [], f"Documented event names the SDK does not know: {', '.join(unknown)}"


def test_the_documented_call_log_classes(person: Callable[[], Person]) -> None:
    """The typings' CallLogRequestBuilder and CallLog (the newest docs use the REST API for call logs)."""
    assert_has(person(), "CometChatCalls", V5_CLASSES, "function")


def test_the_call_log_builder_request_and_getters(person: Callable[[], Person]) -> None:
    """
    The typings' CallLogRequestBuilder setters, CallLogRequest methods, and the getters of a CallLog, of its
    initiator (a CallUser), of its participants and of its recordings (made here from JSON, as callLogFromJson
    takes it: tests/compat/test_call_logs.py reads them from real calls).
    """
    someone = person()
    builder = "new CometChatCalls.CallLogRequestBuilder()"
    assert_has(someone, builder, CALL_LOG_REQUEST_BUILDER, "function")
    assert_has(someone, f"{builder}.build()", CALL_LOG_REQUEST, "function")
    log = (
        'CometChatCalls.CallLog.callLogFromJson({sessionId: "s", initiator: "ann", recordings: [{rid: "r"}], '
        'participants: [{uid: "ann", participantId: "p", joinedAt: 1}]})'
    )
    assert_has(someone, log, CALL_LOG_GETTERS, "function")
    assert_has(someone, f"{log}.getInitiator()", CALL_USER_GETTERS, "function")
    assert_has(someone, f"{log}.getParticipants()[0]", CALL_LOG_PARTICIPANT_GETTERS, "function")
    assert_has(someone, f"{log}.getRecordings()[0]", RECORDING_GETTERS, "function")


def test_the_v4_entry_points_v5_keeps(person: Callable[[], Person]) -> None:
    """v4's classes and methods, and MODE (with v4.1's alias CALL_MODE), are still on CometChatCalls."""
    someone = person()
    assert_has(someone, "CometChatCalls", V4_CLASSES, "function")
    assert_has(someone, "CometChatCalls", V4_METHODS, "function")
    modes = someone.run("async () => [window.CometChatCalls.MODE, window.CometChatCalls.CALL_MODE]")
    assert modes == [V4_MODE, V4_MODE]


def test_the_v4_builders_and_settings(person: Callable[[], Person]) -> None:
    """The v4 builders' setters, the CallSettings getters, MainVideoContainerSetting and CallSettings' statics."""
    someone = person()
    app_settings = "new CometChatCalls.CallAppSettingsBuilder()"
    builder = "new CometChatCalls.CallSettingsBuilder()"
    assert_has(someone, app_settings, V4_APP_SETTINGS_BUILDER, "function")
    assert_has(someone, builder, V4_CALL_SETTINGS_BUILDER, "function")
    assert_has(someone, f"{builder}.build()", V4_CALL_SETTINGS_GETTERS, "function")
    main_video = "new CometChatCalls.MainVideoContainerSetting()"
    assert_has(someone, main_video, V4_MAIN_VIDEO_CONTAINER_SETTING, "function")
    statics = someone.run(
        """
        async () => {
          const { CallSettings } = window.CometChatCalls;
          const positions = Object.fromEntries(
            Object.keys(CallSettings.POSITION || {}).map((key) => [key, CallSettings[`POSITION_${key}`]]));
          return { POSITION: CallSettings.POSITION, ASPECT_RATIO: CallSettings.ASPECT_RATIO, positions };
        }
        """
    )
    assert statics == {"POSITION": V4_POSITION, "ASPECT_RATIO": V4_ASPECT_RATIO, "positions": V4_POSITION}
