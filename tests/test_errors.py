"""
sessions_app/errors.py and static/calls/errors.js are one vocabulary: the server's codes, close
codes and moderation actions, and the SDK's, held to each other in both directions.
"""

from __future__ import annotations

import re
from pathlib import Path

from sessions_app import errors

STATIC = Path(__file__).resolve().parents[1] / "static" / "calls"
# Codes only the browser SDK raises (it cannot reach the server, or the app used it wrongly).
SDK_ONLY_CODES = {
    "ERROR_COMETCHAT_CALLS_SDK_INIT",
    "ERROR_CALLING_VIEW_REF_NULL",
    "ERROR_LOGIN_IN_PROGRESS",
    "ERROR_NO_USER_LOGGED_IN",
    "ERROR_CONNECTION_FAILED",
    "ERROR_MEDIA_DEVICE",
    "ERROR_JOIN_CANCELLED",
    "ERROR_REQUEST_IN_PROGRESS",
}


def frozen_object(source: str, name: str) -> dict[str, str]:
    """The entries of ``export const <name> = Object.freeze({...})`` in a JS module, values as written."""
    body = re.search(rf"export const {name} = Object\.freeze\(\{{(.*?)\}}\);", source, re.S)
    assert body, f"{name} is not in the module"
    entries = re.findall(r'^\s*"?([\w-]+)"?:\s*"?([\w-]+)"?,', body.group(1), re.M)
    assert entries, f"{name} has no entries"
    return dict(entries)


def server_constants(prefix: str) -> dict[str, object]:
    return {name: value for name, value in vars(errors).items() if name.startswith(prefix)}


def test_the_sdk_has_every_error_code_the_server_sends_and_no_other_but_its_own() -> None:
    sdk = frozen_object((STATIC / "errors.js").read_text(), "ErrorCode")
    assert all(name == value for name, value in sdk.items()), "ErrorCode maps each code to itself"
    assert set(errors.ERROR_CODES) == set(sdk) - SDK_ONLY_CODES
    assert not SDK_ONLY_CODES & set(errors.ERROR_CODES), "a code is the SDK's own or the server's, not both"
    assert len(errors.ERROR_CODES) > 20


def test_the_sdk_knows_exactly_the_close_codes_the_server_sends() -> None:
    sdk = frozen_object((STATIC / "errors.js").read_text(), "CloseCode")
    server = server_constants("WS_")
    assert {int(value) for value in sdk.values()} == set(server.values())
    # The names agree too: WS_4010_SESSION_ENDED is CloseCode.SESSION_ENDED.
    assert {re.sub(r"^WS_\d+_", "", name) for name in server} == set(sdk)


def test_the_sdk_moderates_with_the_server_s_actions() -> None:
    sdk = frozen_object((STATIC / "moderation.js").read_text(), "ModerationAction")
    assert set(sdk.values()) == set(errors.CLIENT_MODERATION_ACTIONS)


def test_every_leave_reason_the_server_records_is_one_of_the_vocabulary() -> None:
    """Leave reasons are written in one place: every LEAVE_REASON_ constant is in LEAVE_REASONS."""
    assert set(server_constants("LEAVE_REASON_").values()) - {errors.LEAVE_REASONS} == set(errors.LEAVE_REASONS)
    python = "\n".join(
        path.read_text() for path in Path(errors.__file__).parent.rglob("*.py") if path.name != "errors.py"
    )
    assert not re.search(r"LEAVE_REASON_\w+\s*=", python), "a leave reason is defined outside errors.py"


def test_the_sdk_names_the_server_s_leave_and_refusal_reasons() -> None:
    source = (STATIC / "errors.js").read_text()
    assert set(frozen_object(source, "LeaveReason").values()) == set(errors.LEAVE_REASONS)
    assert set(frozen_object(source, "Refusal").values()) == set(server_constants("REFUSAL_").values())
