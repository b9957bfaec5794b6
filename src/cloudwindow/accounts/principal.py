"""Who is making a request: a signed-in user or an enrolled kiosk."""

from __future__ import annotations

from dataclasses import dataclass, field

from cloudwindow.accounts.permissions import Permission


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" | "device"
    id: int
    name: str
    roles: tuple[str, ...] = ()
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    token_hash: str = ""
    client_ip: str = ""

    @property
    def ident(self) -> str:
        return f"{self.kind}:{self.id}"
