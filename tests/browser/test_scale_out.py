"""
Scaled out (CALLS_SFU=workers): browsers on different Daphne processes share one call hosted by one
SFU worker; sessions spread over workers; when a worker dies, its sessions move and browsers recover.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.s3_server import s3_bucket

from .call_page import (
    REMOTE_TILES,
    call,
    event_names,
    events,
    expect_state,
    joined,
    local_participant_id,
    record,
    tile,
    wait_for_event,
    wait_for_remote_media,
)
from .cluster import REDIS_URL, WORKER_TIMEOUT_S, Cluster, redis_reachable, session_id_of
from .proxy import FailoverProxy
from .test_recording import REMOTE_VIDEO_TIME

pytestmark = [
    pytest.mark.browser,
    # Four server processes and up to four browsers on two cores: more than the default allowance.
    pytest.mark.timeout(300),
    pytest.mark.skipif(not redis_reachable(REDIS_URL), reason=f"Redis is not reachable at {REDIS_URL}"),
]

# Detection (the worker timeout plus a watch interval), the rejoin, and ICE and DTLS on the new worker.
FAILOVER_WITHIN_S = WORKER_TIMEOUT_S + 16
# The signed URL of a session's one recording, as the call logs give it.
RECORDING_URL = (
    "from sessions_app.models import Recording; from sessions_app.recording_files import recording_url; "
    "print(recording_url(Recording.objects.get(session__session_id={!r})))"
)
RESTORED = "() => (window.__events || []).some((e) => e[0] === 'onConnectionRestored')"


def wait_until_restored(pages: tuple[Page, ...], deadline: float) -> None:
    """Every page has said onConnectionRestored before ``deadline`` (time.monotonic())."""
    for page in pages:
        page.wait_for_function(RESTORED, timeout=max(deadline - time.monotonic(), 0.1) * 1000)


@pytest.fixture(scope="module")
def cluster(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """
    Two Daphne processes and two SFU workers for the module (a test that kills a worker replaces it),
    whose recordings storage is a bucket they share (an S3 server on 127.0.0.1).
    """
    folder = tmp_path_factory.mktemp("cluster")
    with s3_bucket(folder / "s3.log") as bucket:
        cluster = Cluster(folder, server_env, daphnes=2, workers=2, extra_env=bucket.env)
        cluster.bucket = bucket
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
            print(cluster.logs())  # shown for a failed test


def test_browsers_on_two_daphne_processes_are_in_one_call_on_one_worker(
    open_page: Callable[..., Page], cluster: Cluster
) -> None:
    share_url = cluster.create_session("Two processes")
    ann = joined(open_page, share_url, "Ann")
    bob = joined(open_page, cluster.through(cluster.daphnes[1], share_url), "Bob")
    wait_for_remote_media(ann, 1)
    wait_for_remote_media(bob, 1)
    host = cluster.host_of(session_id_of(share_url))
    assert host in {worker.worker_id for worker in cluster.workers}
    # Both peer connections are on that worker (its heartbeat says so), none on the other.
    cluster.wait_until(lambda: cluster.live_workers().get(host) == 2, "the hosting worker to report 2 participants")
    assert sum(cluster.live_workers().values()) == 2


def test_sessions_spread_over_workers_and_move_when_one_dies(open_page: Callable[..., Page], cluster: Cluster) -> None:
    first_url, second_url = cluster.create_session("First"), cluster.create_session("Second")
    ann = joined(open_page, first_url, "Ann")
    bob = joined(open_page, cluster.through(cluster.daphnes[1], first_url), "Bob")
    wait_for_remote_media(ann, 1)
    cluster.wait_until(lambda: 2 in cluster.live_workers().values(), "the first session's worker to report it")
    cat = joined(open_page, second_url, "Cat")
    dan = joined(open_page, cluster.through(cluster.daphnes[1], second_url), "Dan")
    wait_for_remote_media(cat, 1)
    first_host, second_host = cluster.host_of(session_id_of(first_url)), cluster.host_of(session_id_of(second_url))
    assert {first_host, second_host} == {worker.worker_id for worker in cluster.workers}

    old_ids = {local_participant_id(ann), local_participant_id(bob)}
    for page in (ann, bob, cat, dan):
        record(page, "onConnectionLost", "onConnectionRestored", "onSessionLeft")
    killed_at = time.monotonic()
    killed = next(worker for worker in cluster.workers if worker.worker_id == first_host)
    killed.stop(kill=True)
    cluster.workers.remove(killed)

    wait_until_restored((ann, bob), killed_at + FAILOVER_WITHIN_S)
    for page in (ann, bob):
        expect(page.locator(REMOTE_TILES)).to_have_count(1)
    wait_for_remote_media(ann, 1)
    wait_for_remote_media(bob, 1)
    assert cluster.host_of(session_id_of(first_url)) == second_host
    assert not {local_participant_id(ann), local_participant_id(bob)} & old_ids  # they joined again
    for page in (ann, bob):
        expect_state(page, "joined")
        assert "onSessionLeft" not in event_names(page)
    # The other session never noticed.
    wait_for_remote_media(cat, 1)
    wait_for_remote_media(dan, 1)
    for page in (cat, dan):
        assert event_names(page) == []
    cluster.add_worker("replacement")


def test_browsers_of_a_dead_daphne_process_come_back_through_another(
    open_page: Callable[..., Page], cluster: Cluster
) -> None:
    """
    Ann reaches the call through a load balancer whose first choice is Daphne process A; Bob is on
    B. A crashes: Ann reconnects through the balancer to B and joins again, and a live process closes
    the participant A left behind, so Bob sees one Ann, in the call, with her media.
    """
    first, second = cluster.daphnes
    balancer = FailoverProxy([first.port, second.port])
    try:
        share_url = cluster.create_session("Balanced")
        ann = joined(open_page, cluster.through_url(balancer.url, share_url), "Ann")
        bob = joined(open_page, cluster.through(second, share_url), "Bob")
        wait_for_remote_media(ann, 1)
        wait_for_remote_media(bob, 1)
        old_ann = local_participant_id(ann)
        for page in (ann, bob):
            record(page, "onConnectionLost", "onConnectionRestored", "onParticipantLeft", "onSessionLeft")

        crashed_at = time.monotonic()
        first.stop(kill=True)
        wait_until_restored((ann,), crashed_at + FAILOVER_WITHIN_S)
        # The Ann that process A served is closed for everyone by a live process.
        expect(tile(bob, old_ann)).to_have_count(0, timeout=FAILOVER_WITHIN_S * 1000)
        expect(bob.locator(REMOTE_TILES)).to_have_count(1)
        wait_for_remote_media(ann, 1)
        wait_for_remote_media(bob, 1)
        assert local_participant_id(ann) != old_ann
        assert next(event for event in events(bob) if event[0] == "onParticipantLeft")[1]["pid"] == old_ann
        assert "onSessionLeft" not in event_names(ann) + event_names(bob)
        # Closed by the live process as its server's orphan, or replaced by her own join with the same token,
        # whichever came first: either way once, for everyone.
        assert cluster.leave_reason(old_ann) in {"disconnected", "replaced"}
    finally:
        balancer.close()
        first.start()


def test_a_call_recorded_on_an_sfu_worker_is_composed_into_shared_storage(
    open_page: Callable[..., Page], cluster: Cluster
) -> None:
    """
    The SFU worker hosting the call writes its tracks; the recordings worker beside it composes them
    into the shared bucket; every web process serves the recording's signed URL from there.
    """
    lines = cluster.manage("create_session", "--title", "Recorded on a worker").strip().splitlines()
    share_url = lines[-1]
    host_url = next(line.rsplit(" ", 1)[-1] for line in lines if line.startswith("Host link"))
    host = joined(open_page, share_url, "Host", host_url=host_url)
    guest = joined(open_page, cluster.through(cluster.daphnes[1], share_url), "Guest")
    wait_for_remote_media(host, 1)
    wait_for_remote_media(guest, 1)
    record(host, "onRecordingStarted", "onRecordingStopped")
    assert call(host, "startRecording()")["error"] is None
    wait_for_event(host, "onRecordingStarted")
    played = guest.evaluate(REMOTE_VIDEO_TIME)
    guest.wait_for_function(f"(t) => ({REMOTE_VIDEO_TIME})() >= t + 2", arg=played, timeout=30_000)
    assert call(host, "stopRecording()")["error"] is None
    wait_for_event(host, "onRecordingStopped")
    session_id = session_id_of(share_url)
    assert cluster.host_of(session_id) in {worker.worker_id for worker in cluster.workers}

    bucket = cluster.bucket
    cluster.manage("run_recordings", "--once", "-v0")
    [key] = bucket.keys()
    assert key.startswith(f"{session_id}/") and key.endswith(".webm")
    url = cluster.manage("shell", "-c", RECORDING_URL.format(session_id)).strip().splitlines()[-1]
    for daphne in cluster.daphnes:
        # Each web process checks the signature and sends the browser on to the bucket.
        with urllib.request.urlopen(cluster.through_url(daphne.url, url), timeout=10) as response:
            assert response.url.startswith(f"{bucket.endpoint}/")
            assert response.read() == bucket.read(key)
