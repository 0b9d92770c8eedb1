"""
A Daphne process's SFU when media runs in workers: the embedded SFU's calls, sent over the channel layer.

The services cannot tell it from the embedded SFU: both are a ``MediaService``, with the
same ``SendSignal`` per participant, which hears the events the worker sends back. It also
watches the workers hosting this process's participants; when one dies, ``on_media_lost``
hears which participants lost their media, so they can join again (and their session lands
on a live worker). It heartbeats for its Daphne process too, and finds the participants dead
processes left behind: ``on_orphans`` closes them for everyone, and their media is released
on their worker. Recording commands wait for the worker's answer (``messages.REPLY``); the
files are written on the worker's disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from channels.layers import BaseChannelLayer

from ..sfu import (
    MediaError,
    MediaUnavailable,
    NotRecording,
    RecordedTrack,
    SendSignal,
    UnknownParticipant,
    UnknownSession,
    VideoView,
)
from . import messages, placement, processes
from .placement import Host
from .processes import Orphan

logger = logging.getLogger(__name__)

MediaLost = Callable[[str, list[str]], Awaitable[None]]
Orphaned = Callable[[list[Orphan]], Awaitable[list[Orphan]]]

# How long a request to a worker may take to be answered (stopping a recording finishes its files).
REQUEST_TIMEOUT_S = 30.0


class RemoteSFU:
    """This process's view of the SFU workers hosting its participants: a ``MediaService``."""

    def __init__(self, layer: BaseChannelLayer, on_media_lost: MediaLost, on_orphans: Orphaned) -> None:
        self.layer = layer
        self.on_media_lost = on_media_lost
        self.on_orphans = on_orphans
        # Recorded on every participant this process serves, so a live process can close them if it dies.
        self.process_id = placement.new_worker_id()
        self.channel_name = ""
        # participant ID → (session ID, its route); session ID → the worker hosting it.
        self._routes: dict[str, tuple[str, SendSignal]] = {}
        self._hosts: dict[str, Host] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._starting: asyncio.Lock | None = None
        # Request ID -> the answer awaited from a worker.
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def _start(self) -> None:
        if self.channel_name:
            return
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self.channel_name:
                return
            # The default prefix: channels_redis serves every channel of a process with that prefix from
            # one receive loop; a channel of another prefix would wait behind it.
            channel_name = await self.layer.new_channel()
            await processes.heartbeat(self.process_id)
            self._tasks = [asyncio.ensure_future(self._receive(channel_name)), asyncio.ensure_future(self._watch())]
            self.channel_name = channel_name

    async def reserve(self, session_id: str) -> None:
        """Place ``session_id`` on a live worker unless it has one (raises NoMediaWorker, a MediaUnavailable)."""
        await self._host(session_id)

    async def _host(self, session_id: str) -> Host:
        """The worker hosting ``session_id``, placing the session if needed (raises NoMediaWorker)."""
        await self._start()
        host = self._hosts.get(session_id)
        if host is None:
            host = self._hosts[session_id] = await placement.host_session(session_id)
        return host

    async def join(
        self,
        session_id: str,
        participant_id: str,
        send_signal: SendSignal,
        sources: tuple[str, ...] = ("audio", "video"),
    ) -> None:
        host = await self._host(session_id)
        self._routes[participant_id] = (session_id, send_signal)
        await self._tell(host, messages.JOIN, session_id, participant_id, sources=list(sources))

    async def handle_answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        await self._tell_host_of(messages.ANSWER, session_id, participant_id, sdp=sdp)

    async def set_screen_share(self, session_id: str, participant_id: str, enabled: bool) -> None:
        await self._tell_host_of(messages.SCREEN_SHARE, session_id, participant_id, enabled=enabled)

    async def set_views(self, session_id: str, participant_id: str, views: Sequence[VideoView]) -> None:
        with contextlib.suppress(UnknownParticipant):
            await self._tell_host_of(messages.VIEWS, session_id, participant_id, views=[list(v) for v in views])

    async def repeat_offer(self, session_id: str, participant_id: str) -> None:
        with contextlib.suppress(UnknownParticipant):
            await self._tell_host_of(messages.REPEAT_OFFER, session_id, participant_id)

    async def set_forwarding(self, session_id: str, participant_id: str, source: str, enabled: bool) -> None:
        with contextlib.suppress(UnknownParticipant):
            await self._tell_host_of(messages.FORWARDING, session_id, participant_id, source=source, enabled=enabled)

    async def leave(self, session_id: str, participant_id: str) -> None:
        """Leave the worker's room; a no-op for a participant whose media was already lost."""
        if self._routes.pop(participant_id, None) is None:
            return
        host = self._hosts.get(session_id)
        if host is not None:
            if not any(sid == session_id for sid, _ in self._routes.values()):
                del self._hosts[session_id]  # placed again on the next join here: it may move meanwhile
            await self._tell(host, messages.LEAVE, session_id, participant_id)

    async def start_recording(self, session_id: str, directory: str) -> None:
        """Record the session on the worker hosting it, into ``directory`` on that worker's disk."""
        await self._request(messages.START_RECORDING, session_id, UnknownSession, directory=directory)

    async def stop_recording(self, session_id: str) -> list[RecordedTrack]:
        reply = await self._request(messages.STOP_RECORDING, session_id, NotRecording)
        try:
            return messages.decode_tracks(reply["tracks"])
        except (KeyError, ValueError) as exc:
            raise MediaError(f"The media server's answer could not be read: {exc}") from exc

    async def _request(self, kind: str, session_id: str, unhosted: type[MediaError], **fields: Any) -> dict[str, Any]:
        """
        Send a request to the worker hosting ``session_id`` and wait for its answer; raise the
        MediaError it reports, ``unhosted`` if no live worker hosts the session, MediaUnavailable if
        the worker does not answer in REQUEST_TIMEOUT_S.
        """
        await self._start()
        host = self._hosts.get(session_id) or await placement.hosting_worker(session_id)
        if host is None:
            raise unhosted(session_id)
        request_id = uuid.uuid4().hex
        answered = self._pending[request_id] = asyncio.get_running_loop().create_future()
        try:
            await self._tell(host, kind, session_id, "", request_id=request_id, **fields)
            reply = await asyncio.wait_for(answered, REQUEST_TIMEOUT_S)
        except TimeoutError:
            raise MediaUnavailable(f"The media server of session {session_id} did not answer.") from None
        finally:
            self._pending.pop(request_id, None)
        error = messages.reply_error(reply)
        if error is not None:
            raise error
        return reply

    async def release(self, orphan: Orphan) -> None:
        """Drop the media of a participant whose Daphne process died (it holds a worker's peer connection)."""
        if orphan.worker_channel:
            message = messages.to_worker(messages.LEAVE, orphan.session_id, orphan.participant_id, reply_to="")
            await self.layer.send(orphan.worker_channel, message)

    def participant_stats(self, session_id: str, participant_id: str) -> dict[str, Any] | None:
        """Media stats live in the worker; operators see its load on the Live calls page."""
        return None

    def stats(self) -> dict[str, Any]:
        return {"rooms": len(self._hosts), "participants": len(self._routes)}

    async def close_all(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for answered in self._pending.values():
            answered.cancel()
        self._routes.clear()
        self._hosts.clear()
        self.channel_name = ""

    async def _tell_host_of(self, kind: str, session_id: str, participant_id: str, **fields: Any) -> None:
        """Tell the worker hosting a participant of this process (UnknownParticipant if none)."""
        host = self._hosts.get(session_id)
        if host is None or participant_id not in self._routes:
            raise UnknownParticipant(participant_id)
        await self._tell(host, kind, session_id, participant_id, **fields)

    async def _tell(self, host: Host, kind: str, session_id: str, participant_id: str, **fields: Any) -> None:
        message = messages.to_worker(kind, session_id, participant_id, reply_to=self.channel_name, **fields)
        await self.layer.send(host.channel_name, message)

    async def _receive(self, channel_name: str) -> None:
        while True:
            message = await self.layer.receive(channel_name)
            if message.get("type") == messages.REPLY:
                answered = self._pending.get(str(message.get("request_id")))
                if answered is not None and not answered.done():
                    answered.set_result(message)
                continue
            if message.get("type") != messages.SIGNAL:
                continue
            entry = self._routes.get(message.get("participant_id", ""))
            if entry is None:
                continue
            try:
                await entry[1](messages.decode_event(message["event"]))
            except Exception:
                logger.exception("could not relay a media signal to participant %s", message.get("participant_id"))

    async def _watch(self) -> None:
        """
        Every heartbeat: say this process is alive, move the sessions of dead workers, and hand over
        the participants of dead processes.
        """
        while True:
            await asyncio.sleep(placement.HEARTBEAT_INTERVAL_S)
            try:
                await processes.heartbeat(self.process_id)
                if self._hosts:
                    hosts = {sid: host.worker_pk for sid, host in self._hosts.items()}
                    for session_id in await placement.moved_sessions(hosts):
                        await self._lose(session_id)
                orphans = await processes.orphans()
                if orphans:
                    for orphan in await self.on_orphans(orphans):  # those this process closed
                        await self.release(orphan)
            except Exception:
                logger.exception("could not check the other processes of the cluster")

    async def _lose(self, session_id: str) -> None:
        self._hosts.pop(session_id, None)
        lost = [pid for pid, (sid, _) in self._routes.items() if sid == session_id]
        for participant_id in lost:
            del self._routes[participant_id]
        logger.warning("the SFU worker of session %s is gone: %d participant(s) join again", session_id, len(lost))
        try:
            await self.on_media_lost(session_id, lost)
        except Exception:
            logger.exception("could not move the participants of session %s", session_id)
