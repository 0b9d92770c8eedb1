"""
Downloading a composed recording: ``GET /api/v1/recordings/<rid>/file?expires=…&signature=…``, the
``recordingURL`` of call logs and webhooks.

The URL is its own credential (a ``<video src>`` or a shared link sends no headers): the server checks
its signature and expiry (``recording_files.check_url``), then serves the file from local storage with
byte ranges (so a player can seek), or redirects to the bucket's own short-lived URL.
"""

from __future__ import annotations

import re

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse

from .. import errors
from ..models import Recording, recordings_storage
from ..recording_files import UrlCheck, check_url
from .support import ApiError, api_view

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK_BYTES = 64 * 1024
CONTENT_TYPE = "video/webm"


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """
    A single ``Range: bytes=a-b`` as (first, last) inclusive, ``last`` within the file; None for no
    range or one we do not serve (the whole file is sent). ``first`` past the end: unsatisfiable.
    """
    match = RANGE.match(header.strip())
    if not match or not any(match.groups()):
        return None
    first_text, last_text = match.groups()
    if not first_text:  # bytes=-N: the last N bytes
        suffix = int(last_text)
        return (max(0, size - suffix), size - 1) if suffix else (size, size)
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if last_text and int(last_text) < first:
        return None  # invalid: ignored, as RFC 9110 says
    return first, last


def _ranged(path: str, size: int, first: int, last: int) -> StreamingHttpResponse:
    def chunks() -> object:
        with open(path, "rb") as handle:
            handle.seek(first)
            left = last - first + 1
            while left > 0:
                data = handle.read(min(CHUNK_BYTES, left))
                if not data:
                    return
                left -= len(data)
                yield data

    response = StreamingHttpResponse(chunks(), status=206, content_type=CONTENT_TYPE)  # type: ignore[arg-type]
    response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(last - first + 1)
    return response


def recording_file(request: HttpRequest, rid: str) -> HttpResponse:
    check = check_url(rid, request.GET.get("expires"), request.GET.get("signature"))
    if check is UrlCheck.EXPIRED:
        raise ApiError(errors.AUTH_ERR_NO_ACCESS, "This recording link has expired.", 403, {"reason": "expired"})
    if check is not UrlCheck.VALID:
        raise ApiError(errors.AUTH_ERR_NO_ACCESS, "This recording link is not valid.", 403, {"reason": "signature"})
    recording = Recording.objects.select_related("session").filter(rid=rid).exclude(composed_file="").first()
    if recording is None:
        raise ApiError(errors.ERR_NOT_FOUND, "This recording does not exist (any more).", 404)
    storage, name = recordings_storage(), recording.composed_file.name
    filename = f"{recording.session.session_id}-{recording.rid}.webm"
    try:
        path = storage.path(name)
    except NotImplementedError:
        # A bucket: its own URL (signed and short-lived with django-storages' defaults) serves the bytes.
        return HttpResponseRedirect(storage.url(name))
    try:
        size = storage.size(name)
    except OSError:
        raise ApiError(errors.ERR_NOT_FOUND, "This recording's file is missing.", 404) from None
    wanted = _byte_range(request.headers.get("Range", ""), size)
    if wanted is not None and wanted[0] >= size:
        unsatisfiable = HttpResponse(status=416)
        unsatisfiable["Content-Range"] = f"bytes */{size}"
        return unsatisfiable
    response: HttpResponse
    if wanted is not None:
        response = _ranged(path, size, *wanted)
    else:
        response = FileResponse(open(path, "rb"), content_type=CONTENT_TYPE)  # noqa: SIM115 (closed by Django)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=0"
    return response


recording_file_view = api_view({"GET": recording_file})
