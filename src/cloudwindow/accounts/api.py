"""HTTP transport of accounts: sign-in/out, the caller's profile, user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from cloudwindow.accounts import actions, queries
from cloudwindow.accounts.deps import client_ip, require
from cloudwindow.accounts.permissions import Permission, Role
from cloudwindow.accounts.principal import Principal
from cloudwindow.accounts.schemas import (
    LoginRequest,
    LoginResponse,
    MeResponse,
    PasswordSet,
    UserCreate,
    UserOut,
    UserUpdate,
)
from cloudwindow.pagination import IdPath, Page, PageParams, fetch_page, page_params
from cloudwindow.services import Services, get_services

router = APIRouter(prefix="/api", tags=["accounts"])
Svc = Annotated[Services, Depends(get_services)]


@router.post("/auth/login", response_model=LoginResponse, operation_id="login")
async def login(body: LoginRequest, request: Request, services: Svc) -> LoginResponse:
    """Sign in with username and password; returns a bearer token. Public."""
    result = await actions.check_login(services, body.username, body.password, client_ip(request))
    async with services.db.read() as session:
        (user,) = await queries.user_out(session, [result.user])
    return LoginResponse(token=result.token, expires_at=result.expires_at, user=user)


@router.post("/auth/logout", status_code=204, operation_id="logout")
async def logout(
    services: Svc, principal: Annotated[Principal, Depends(require(Permission.SELF))]
) -> Response:
    await actions.do_logout(services, principal)
    return Response(status_code=204)


@router.get("/auth/me", response_model=MeResponse, operation_id="me")
async def me(
    services: Svc, principal: Annotated[Principal, Depends(require(Permission.SELF))]
) -> MeResponse:
    async with services.db.read() as session:
        (user,) = await queries.user_out(session, [await queries.get_user(session, principal.id)])
    return MeResponse(user=user, permissions=sorted(p.value for p in principal.permissions))


@router.get("/users", response_model=Page[UserOut], operation_id="list_users")
async def list_users(
    services: Svc,
    _: Annotated[Principal, Depends(require(Permission.USERS_READ))],
    params: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100)] = None,
    role: Role | None = None,
    active: bool | None = None,
) -> Page[UserOut]:
    async with services.db.read() as session:
        rows, total = await fetch_page(
            session, queries.users_query(q, role.value if role else None, active), params
        )
        items = await queries.user_out(session, rows)
    return Page(items=items, total=total, page=params.page, page_size=params.page_size)


async def _one(services: Services, user_id: int) -> UserOut:
    async with services.db.read() as session:
        (user,) = await queries.user_out(session, [await queries.get_user(session, user_id)])
    return user


@router.post("/users", response_model=UserOut, status_code=201, operation_id="create_user")
async def create_user(
    body: UserCreate,
    services: Svc,
    actor: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
) -> UserOut:
    return await _one(services, await actions.do_create_user(services, actor, body))


@router.get("/users/{user_id}", response_model=UserOut, operation_id="get_user")
async def get_user(
    user_id: IdPath, services: Svc, _: Annotated[Principal, Depends(require(Permission.USERS_READ))]
) -> UserOut:
    return await _one(services, user_id)


@router.patch("/users/{user_id}", response_model=UserOut, operation_id="update_user")
async def update_user(
    user_id: IdPath,
    body: UserUpdate,
    services: Svc,
    actor: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
) -> UserOut:
    await actions.do_update_user(services, actor, user_id, body)
    return await _one(services, user_id)


@router.post("/users/{user_id}/password", status_code=204, operation_id="set_user_password")
async def set_password(
    user_id: IdPath,
    body: PasswordSet,
    services: Svc,
    actor: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
) -> Response:
    await actions.do_set_password(services, actor, user_id, body.password)
    return Response(status_code=204)


@router.post("/users/{user_id}/deactivate", response_model=UserOut, operation_id="deactivate_user")
async def deactivate_user(
    user_id: IdPath,
    services: Svc,
    actor: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
) -> UserOut:
    await actions.do_set_user_active(services, actor, user_id, False)
    return await _one(services, user_id)


@router.post("/users/{user_id}/activate", response_model=UserOut, operation_id="activate_user")
async def activate_user(
    user_id: IdPath,
    services: Svc,
    actor: Annotated[Principal, Depends(require(Permission.USERS_WRITE))],
) -> UserOut:
    await actions.do_set_user_active(services, actor, user_id, True)
    return await _one(services, user_id)
