"""
The recordings worker (services/composition.py, manage.py run_recordings): jobs, leases, retries, the
composed file in storage, the recording_generated webhook, signed download URLs, call logs, deletion
and retention.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import pytest
from django.test import Client
from django.utils import timezone

from sessions_app import recording_files
from sessions_app.composer import ComposeError
from sessions_app.models import (
    App,
    CallSession,
    CompositionJob,
    CompositionStatus,
    Recording,
    RecordingStatus,
    SessionStatus,
)
from sessions_app.services import composition
from tests.recording_media import two_people
from tests.s3_server import BUCKET, S3Bucket, s3_bucket
from tests.test_webhooks import database_url
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parent.parent
WAIT_TIMEOUT_S = 60.0


@pytest.fixture(autouse=True)
def recordings_dir(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "recordings"
    root.mkdir()
    settings.CALLS_RECORDINGS_DIR = str(root)
    settings.CALLS_RECORDING_CANVAS = "320x180@10"
    settings.CALLS_WEBHOOKS_ALLOW_PRIVATE = True
    return root


@pytest.fixture
def app_and_key() -> tuple[App, str]:
    app, api_key, _ = App.create_with_keys("Recorded")
    WebhookEndpoint.objects.create(app=app, name="hooks", url="http://127.0.0.1:9/hooks")
    return app, api_key


def stopped_recording(app: App, root: Path, duration_ms: int = 3000, ended_ago_days: float = 0) -> Recording:
    """A call that was recorded for ``duration_ms`` by two people, stopped and queued, as the service leaves it."""
    ended = timezone.now() - timedelta(days=ended_ago_days)
    session = CallSession.objects.create(
        app=app, status=SessionStatus.ENDED, started_at=ended - timedelta(seconds=10), ended_at=ended
    )
    directory = f"{session.session_id}/20261203T100000.000Z"
    recording = Recording.objects.create(
        session=session,
        directory=directory,
        started_at=ended - timedelta(milliseconds=duration_ms),
        ended_at=ended,
        status=RecordingStatus.STOPPED,
        tracks=two_people(root / directory, root, duration_ms),
    )
    CompositionJob.objects.create(recording=recording)
    return recording


def job_of(recording: Recording) -> CompositionJob:
    return CompositionJob.objects.get(recording=recording)


def composed_files(root: Path, recording: Recording) -> list[Path]:
    return sorted((root / recording.directory).glob("composed-*.webm"))


def test_the_worker_composes_a_stopped_recording_into_storage_and_announces_it(
    app_and_key: tuple[App, str], recordings_dir: Path
) -> None:
    recording = stopped_recording(app_and_key[0], recordings_dir)
    composition.Worker().run(once=True)

    job = job_of(recording)
    recording.refresh_from_db()
    assert (job.status, job.attempts, job.progress) == (CompositionStatus.DONE, 1, 1.0)
    [composed] = composed_files(recordings_dir, recording)
    assert recording.composed_file.name == str(composed.relative_to(recordings_dir))
    assert recording.composed_size_bytes == composed.stat().st_size
    with av.open(str(composed)) as container:
        assert {stream.codec_context.name for stream in container.streams} == {"vp8", "opus"}
        assert container.streams.video[0].codec_context.width == 320
        assert abs(container.duration / 1_000_000 - 3.0) <= 0.1
    assert abs((recording.composed_duration_ms or 0) - 3000) <= 100

    [event] = WebhookEvent.objects.filter(trigger="recording_generated")
    data = event.payload["data"]
    assert data["sessionId"] == recording.session.session_id
    assert data["recording"]["rid"] == recording.rid
    assert data["recording"]["duration"] == pytest.approx(3.0, abs=0.1)
    assert event.deliveries.count() == 1
    # The webhook's URL downloads the file.
    response = Client().get(path_of(data["recording"]["recordingURL"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == composed.read_bytes()


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_stopped_recording_is_queued_and_one_without_files_is_not(app_and_key: tuple[App, str]) -> None:
    """services/recording queues a job in the transaction that saves the files (a job per recording, once)."""
    from asgiref.sync import async_to_sync

    from sessions_app.services import recording as recording_service
    from sessions_app.sfu import RecordedTrack

    session = CallSession.objects.create(app=app_and_key[0])
    empty = CallSession.objects.create(app=app_and_key[0])
    for call in (session, empty):
        Recording.objects.create(session=call, directory=f"{call.session_id}/x")
    track = RecordedTrack("p", "video", f"{session.session_id}/x/p-video-1.webm", "vp8", 0, 1000, 15, 999)
    async_to_sync(recording_service._record_stop)(session.session_id, [track])
    async_to_sync(recording_service._record_stop)(empty.session_id, [])
    assert CompositionJob.objects.get().recording.session == session
    assert job_of(Recording.objects.get(session=session)).status == CompositionStatus.QUEUED


def test_a_lease_keeps_a_job_from_a_second_worker_until_it_runs_out(
    app_and_key: tuple[App, str], recordings_dir: Path, settings: Any
) -> None:
    """A second claim gets the job only once the first's lease ran out; the first then neither renews nor finishes."""
    settings.CALLS_RECORDING_LEASE_SECONDS = 30
    recording = stopped_recording(app_and_key[0], recordings_dir)
    first = composition.claim()
    assert first is not None and first.attempt == 1
    assert composition.claim() is None
    assert composition.claim(timezone.now() + timedelta(seconds=20)) is None

    second = composition.claim(timezone.now() + timedelta(seconds=31))
    assert second is not None and second.attempt == 2 and second.token != first.token
    with pytest.raises(composition.LeaseLost):
        composition.report_progress(first, 0.5)
    assert composition.finish(first, "x.webm", 1000, 10) is False
    assert composition.finish(second, "y.webm", 3000, 10) is True
    recording.refresh_from_db()
    assert recording.composed_file.name == "y.webm"
    assert WebhookEvent.objects.filter(trigger="recording_generated").count() == 1


def test_a_failed_attempt_is_retried_later_and_fails_for_good_after_the_last(
    app_and_key: tuple[App, str], recordings_dir: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CALLS_RECORDING_COMPOSE_ATTEMPTS = 2

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ComposeError("nothing could be read")

    monkeypatch.setattr(composition, "compose", broken)
    recording = stopped_recording(app_and_key[0], recordings_dir)
    composition.Worker().run(once=True)
    job = job_of(recording)
    assert (job.status, job.attempts, job.last_error) == (CompositionStatus.QUEUED, 1, "nothing could be read")
    assert job.next_attempt_at > timezone.now() + timedelta(seconds=20)

    CompositionJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    composition.Worker().run(once=True)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (CompositionStatus.FAILED, 2)
    assert not WebhookEvent.objects.filter(trigger="recording_generated").exists()
    assert not composed_files(recordings_dir, recording)

    # An operator's "compose again" queues it with fresh attempts.
    assert recording_files.compose_again(recording)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (CompositionStatus.QUEUED, 0)


def test_a_worker_leaves_jobs_whose_files_are_on_another_machine(
    app_and_key: tuple[App, str], recordings_dir: Path
) -> None:
    """With SFU workers on several machines, a job waits for the recordings worker beside its files."""
    recording = stopped_recording(app_and_key[0], recordings_dir)
    (recordings_dir / recording.directory).rename(recordings_dir / "elsewhere")
    assert composition.claim() is None
    (recordings_dir / "elsewhere").rename(recordings_dir / recording.directory)
    assert composition.claim() is not None


# The signed URL.


def composed(app: App, root: Path) -> Recording:
    recording = stopped_recording(app, root)
    composition.Worker().run(once=True)
    recording.refresh_from_db()
    assert recording.composed_file
    return recording


def test_a_recording_url_serves_the_file_with_ranges_and_refuses_expired_or_tampered_ones(
    app_and_key: tuple[App, str], recordings_dir: Path
) -> None:
    recording = composed(app_and_key[0], recordings_dir)
    body = (recordings_dir / recording.composed_file.name).read_bytes()
    client = Client()
    url = path_of(recording_files.recording_url(recording))
    response = client.get(url)
    assert (response.status_code, response["Content-Type"], response["Accept-Ranges"]) == (200, "video/webm", "bytes")
    assert b"".join(response.streaming_content) == body

    response = client.get(url, headers={"Range": "bytes=100-199"})
    assert (response.status_code, response["Content-Range"]) == (206, f"bytes 100-199/{len(body)}")
    assert b"".join(response.streaming_content) == body[100:200]
    response = client.get(url, headers={"Range": "bytes=-10"})
    assert response.status_code == 206 and b"".join(response.streaming_content) == body[-10:]
    response = client.get(url, headers={"Range": f"bytes={len(body)}-"})
    assert (response.status_code, response["Content-Range"]) == (416, f"bytes */{len(body)}")

    expired = path_of(recording_files.recording_url(recording, ttl_seconds=-1))
    response = client.get(expired)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTH_ERR_NO_ACCESS"
    assert response.json()["error"]["details"] == {"reason": "expired"}

    query = parse_qs(urlsplit(url).query)
    signature = query["signature"][0]
    tampered_signature = ("0" if signature[0] != "0" else "1") + signature[1:]
    later = int(query["expires"][0]) + 3600
    base = urlsplit(url).path
    for tampered in (
        f"{base}?expires={query['expires'][0]}&signature={tampered_signature}",
        f"{base}?expires={later}&signature={signature}",
        f"{base}?expires={query['expires'][0]}",
        f"{base.replace(recording.rid, 'rec' + '0' * 24)}?expires={query['expires'][0]}&signature={signature}",
    ):
        response = client.get(tampered)
        assert response.status_code == 403, tampered
        assert response.json()["error"]["details"] == {"reason": "signature"}


def test_call_logs_list_composed_recordings_and_filter_by_them(
    app_and_key: tuple[App, str], recordings_dir: Path
) -> None:
    app, api_key = app_and_key
    recorded = composed(app, recordings_dir)
    plain = CallSession.objects.create(app=app, started_at=timezone.now())
    headers = {"appid": app.app_id, "apikey": api_key}
    client = Client()

    log = client.get(f"/api/v1/calls/{recorded.session.session_id}", headers=headers).json()["data"]
    assert log["hasRecording"] is True
    [entry] = log["recordings"]
    assert entry["rid"] == recorded.rid
    assert entry["startTime"] == int(recorded.started_at.timestamp())
    assert entry["endTime"] == int(recorded.ended_at.timestamp())  # type: ignore[union-attr]
    assert entry["duration"] == pytest.approx(3.0, abs=0.1)
    download = client.get(path_of(entry["recordingURL"]))
    assert download.status_code == 200
    download.close()
    assert client.get(f"/api/v1/calls/{plain.session_id}", headers=headers).json()["data"]["hasRecording"] is False

    def listed(query: str) -> list[str]:
        return [call["sessionId"] for call in client.get(f"/api/v1/calls{query}", headers=headers).json()["data"]]

    assert listed("?hasRecording=true") == [recorded.session.session_id]
    assert listed("?hasRecording=false") == [plain.session_id]
    assert len(listed("")) == 2


# Deletion and retention.


def test_deleting_a_recording_deletes_its_files_and_folder(app_and_key: tuple[App, str], recordings_dir: Path) -> None:
    recording = composed(app_and_key[0], recordings_dir)
    folder = recordings_dir / recording.directory
    assert len(list(folder.iterdir())) == 5
    recording.delete()
    assert not folder.exists()
    assert not folder.parent.exists()
    assert list(recordings_dir.iterdir()) == []


def test_retention_deletes_old_recordings_with_their_files_and_keeps_recent_ones(
    app_and_key: tuple[App, str], recordings_dir: Path, settings: Any
) -> None:
    old = stopped_recording(app_and_key[0], recordings_dir, ended_ago_days=31)
    recent = stopped_recording(app_and_key[0], recordings_dir, ended_ago_days=29)
    assert composition.delete_expired() == 0  # 0 days: kept for ever
    settings.CALLS_RECORDING_RETENTION_DAYS = 30
    assert composition.delete_expired() == 1
    assert list(Recording.objects.all()) == [recent]
    assert not (recordings_dir / old.directory).exists()
    assert (recordings_dir / recent.directory).is_dir()


# The worker process: killed mid-composition, the next one finishes the job, once.


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "calls_project.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url(),
        "PYTHONUNBUFFERED": "1",
        "CALLS_RECORDINGS_DIR": os.environ["CALLS_RECORDINGS_DIR"],
        # Slow enough to be killed mid-way (a few seconds), quick enough for the suite.
        "CALLS_RECORDING_CANVAS": "1280x720@30",
        "CALLS_RECORDING_LEASE_SECONDS": "2",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_recordings", "--poll-interval", "0.1"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_worker_killed_mid_composition_is_replaced_and_the_job_finishes_once(
    app_and_key: tuple[App, str], recordings_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLS_RECORDINGS_DIR", str(recordings_dir))
    recording = stopped_recording(app_and_key[0], recordings_dir, duration_ms=12_000)
    log = tmp_path / "worker.log"
    processes = [start_worker(log)]
    try:
        wait_until(lambda: 0 < job_of(recording).progress < 1, "progress from the first worker")
        processes[0].send_signal(signal.SIGKILL)
        assert processes[0].wait(timeout=WAIT_TIMEOUT_S) == -signal.SIGKILL
        killed = job_of(recording)
        assert (killed.status, killed.attempts) == (CompositionStatus.COMPOSING, 1)

        processes.append(start_worker(log))
        wait_until(lambda: job_of(recording).status == CompositionStatus.DONE, "the second worker's composition")
        processes[1].send_signal(signal.SIGTERM)
        assert processes[1].wait(timeout=WAIT_TIMEOUT_S) == 0, log.read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    job = job_of(recording)
    assert job.attempts == 2 and job.worker.endswith(f":{processes[1].pid}")
    recording.refresh_from_db()
    [file] = composed_files(recordings_dir, recording)
    assert recording.composed_file.name == str(file.relative_to(recordings_dir))
    with av.open(str(file)) as container:
        assert abs(container.duration / 1_000_000 - 12.0) <= 0.1
    assert WebhookEvent.objects.filter(trigger="recording_generated").count() == 1
    assert "Recordings worker stopped." in log.read_text()


# An S3-compatible bucket (moto's server on 127.0.0.1) through django-storages.


@pytest.fixture
def bucket(settings: Any, tmp_path: Path) -> Iterator[S3Bucket]:
    """A bucket on a local S3 server, as the recordings storage."""
    with s3_bucket(tmp_path / "s3.log") as bucket:
        settings.STORAGES = {**settings.STORAGES, "recordings": bucket.storage}
        yield bucket


def test_a_bucket_gets_the_composed_file_serves_it_through_the_signed_url_and_loses_it_on_delete(
    app_and_key: tuple[App, str], recordings_dir: Path, bucket: Any
) -> None:
    recording = stopped_recording(app_and_key[0], recordings_dir)
    composition.Worker().run(once=True)
    recording.refresh_from_db()
    assert job_of(recording).status == CompositionStatus.DONE
    keys = bucket.keys()
    assert keys == [recording.composed_file.name]
    assert not composed_files(recordings_dir, recording), "the composed file is in the bucket, not on disk"
    stored = bucket.read(keys[0])
    with av.open(io.BytesIO(stored)) as container:
        assert abs(container.duration / 1_000_000 - 3.0) <= 0.1

    # The server checks its own signature, then hands over to the bucket's short-lived URL.
    response = Client().get(path_of(recording_files.recording_url(recording)))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{bucket.endpoint}/{BUCKET}/")
    with urllib.request.urlopen(response["Location"], timeout=10) as download:
        assert download.read() == stored
    assert Client().get(path_of(recording_files.recording_url(recording, ttl_seconds=-1))).status_code == 403

    recording.delete()
    assert bucket.keys() == []
    assert not (recordings_dir / recording.directory).exists()
