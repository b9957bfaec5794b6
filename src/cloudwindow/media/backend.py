"""The media layer behind one interface, so the pages never care how media flows.

``PeerToPeerBackend`` (now): the two browsers connect directly (or through TURN); the
server only relays their signaling to the other participant. An SFU backend (Janus, later)
would terminate each participant's SDP itself and answer from the SFU; the browser's
call code stays the same because it only ever talks to "the peer" named in
``media.session``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from cloudwindow.config import Settings
from cloudwindow.media.models import MediaSession, Role
from cloudwindow.realtime.outbox import Event


@dataclass(frozen=True)
class Signal:
    """One signaling message from a participant, already validated."""

    type: str  # media.offer, media.answer, media.candidate, media.restart, ...
    sender_role: Role
    data: dict[str, Any]


class MediaBackend(Protocol):
    name: str

    def peer_kind(self) -> str:
        """What a participant's ``peer`` is: "participant" (p2p) or "sfu"."""
        ...

    def route(self, session: MediaSession, signal: Signal) -> list[Event]:
        """The events a signal turns into (ephemeral relays, SFU answers, ...)."""
        ...


def other_party(session: MediaSession, role: Role) -> str:
    return session.callee if role == Role.CALLER else session.caller


class PeerToPeerBackend:
    """1:1 calls browser to browser: signaling is relayed to the other participant."""

    name = "p2p"

    def peer_kind(self) -> str:
        return "participant"

    def route(self, session: MediaSession, signal: Signal) -> list[Event]:
        data = {"session_id": session.id, "from": signal.sender_role.value, **signal.data}
        return [Event(other_party(session, signal.sender_role), signal.type, data)]


_BACKENDS: dict[str, type[PeerToPeerBackend]] = {"p2p": PeerToPeerBackend}


def backend_for(settings: Settings) -> MediaBackend:
    """The configured backend (``media_backend``)."""
    return _BACKENDS[settings.media_backend]()
