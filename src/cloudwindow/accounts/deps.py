"""FastAPI dependencies that authenticate a request and check its permission.

``require(Permission.X)`` is the only way a route is guarded; the permission it carries
is published in the OpenAPI schema as ``x-permission`` (see ``app.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cloudwindow.accounts.errors import NotAuthenticated, PermissionDenied
from cloudwindow.accounts.permissions import Permission
from cloudwindow.accounts.principal import Principal
from cloudwindow.accounts.queries import get_principal
from cloudwindow.services import Services, get_services

bearer = HTTPBearer(
    auto_error=False,
    description="A user session token from /api/auth/login, or a kiosk device credential.",
)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


class require:
    """Dependency: the caller's principal, if it holds ``permission``; else 401/403."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self,
        request: Request,
        services: Annotated[Services, Depends(get_services)],
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if creds is None or not creds.credentials:
            raise NotAuthenticated()
        async with services.db.read() as session:
            principal = await get_principal(session, creds.credentials, client_ip(request))
        if principal is None:
            raise NotAuthenticated()
        if self.permission not in principal.permissions:
            raise PermissionDenied({"permission": self.permission.value})
        return principal
