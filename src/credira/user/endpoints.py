from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.pagination import page_params
from credira.api.respond import check_if_match, respond
from credira.api.responses import errors_for, listing, reply
from credira.errors import Forbidden
from credira.kit.clock import format_time
from credira.kit.pagination import Page
from credira.models import User
from credira.user import repository, service
from credira.user.schemas import (
    KeyRotate,
    KeyRotated,
    UserCreate,
    UserCreated,
    UserDeleted,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/users", tags=["Users"])

CREATE_UNAUTHORIZED = "Invalid or missing Credira AI key"


def _base(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "company": user.company,
        "role": user.role,
        "department": user.department,
        "phone": user.phone,
        "account_id": user.account_id,
        "status": user.status,
        "created_time": format_time(user.created_time),
    }


async def _detail(ctx: Ctx, user: User, *, updated: bool = False) -> dict[str, Any]:
    stats = await service.activity_stats(ctx.session, user)
    data = _base(user)
    if updated:
        data["updated_time"] = format_time(user.updated_time)
    data["last_login"] = format_time(user.last_login)
    data["permissions"] = list(user.permissions)
    data["activity_stats"] = {
        "total_calls_made": stats.total_calls_made,
        "total_emails_sent": stats.total_emails_sent,
        "total_callouts_created": stats.total_callouts_created,
        "last_activity": format_time(stats.last_activity),
    }
    data["metadata"] = user.metadata_
    return data


@router.post(
    "",
    status_code=201,
    summary="Create User",
    responses={**reply(UserCreated, 201), **errors_for(400, 401, 403, 404, 409, 422)},
)
async def create_user(
    body: UserCreate,
    ctx: Annotated[
        Ctx,
        Depends(
            require(
                "users:write",
                "create users",
                unauthorized_message=CREATE_UNAUTHORIZED,
                allow_admin=True,
            )
        ),
    ],
) -> JSONResponse:
    """Create a user in an account and return its API key, shown this once.

    With the admin key, the user joins the account named by ``account_id`` or, when none is
    given, a new account for ``company``. With a user key holding ``users:write``, the user joins
    the caller's account and may be granted only permissions the caller holds.
    """
    user, key = await service.create_user(ctx.session, ctx.principal, body, ctx.clock.now())
    base = _base(user)
    data = {k: base[k] for k in ("id", "email", "name", "company", "role", "department", "phone")}
    data["api_key"] = key
    data.update({k: base[k] for k in ("account_id", "status", "created_time")})
    data.update(last_login=None, permissions=list(user.permissions), metadata=user.metadata_)
    return await respond(
        ctx,
        data,
        status=201,
        message="User created successfully",
        version=user.version,
        shown_once="api_key",
    )


@router.get(
    "",
    summary="List Users",
    responses={**listing(UserRead, "users"), **errors_for(400, 401, 403, 422)},
)
async def list_users(
    ctx: Annotated[Ctx, Depends(require("users:read", "list users"))],
    page: Annotated[Page, Depends(page_params("user"))],
    status: Annotated[
        Literal["active", "inactive", "suspended"] | None, Query(description="Filter by status")
    ] = None,
) -> JSONResponse:
    """List the users of the caller's account, oldest first, with cursor pagination."""
    users, more, total = await repository.list_users(ctx.session, ctx.account_id, status, page)
    data = [await _detail(ctx, u) for u in users]
    return await respond(ctx, data, total_users=total, has_more=more)


async def _visible_user(ctx: Ctx, user_id: str, permission: str, action: str) -> User:
    user = await service.get_user(ctx.session, ctx.principal, user_id)
    if user.id != ctx.principal.user_id and not ctx.principal.can(permission):
        raise Forbidden(f"You don't have permission to {action}")
    return user


@router.get(
    "/{user_id}",
    summary="Get User",
    responses={**reply(UserRead), **errors_for(400, 401, 403, 404)},
)
async def get_user(
    user_id: str,
    ctx: Annotated[Ctx, Depends(require(None, "access this user", allow_admin=True))],
) -> JSONResponse:
    """A user with its permissions and activity. Any user may read itself."""
    user = await _visible_user(ctx, user_id, "users:read", "access this user")
    return await respond(ctx, await _detail(ctx, user), version=user.version)


@router.put(
    "/{user_id}",
    summary="Update User",
    responses={**reply(UserRead), **errors_for(400, 401, 403, 404, 412, 422)},
)
async def update_user(
    user_id: str,
    body: UserUpdate,
    ctx: Annotated[Ctx, Depends(require("users:write", "update this user", allow_admin=True))],
) -> JSONResponse:
    """Update name, role, department, phone, status, permissions or metadata.

    ``metadata`` keys merge; a key set to null is removed. A user set inactive or suspended can
    no longer authenticate until set active again. A user key may update only users holding no
    permission it lacks, and grant only permissions it holds; the admin key may update anyone.
    """
    user = await service.get_user(ctx.session, ctx.principal, user_id)
    # Preconditions are judged after the request's own checks (RFC 9110 13.2.1).
    current_version = user.version
    user = await service.update_user(ctx.session, ctx.principal, user, body, ctx.clock.now())
    check_if_match(ctx, current_version)
    data = await _detail(ctx, user, updated=True)
    return await respond(ctx, data, message="User updated successfully", version=user.version)


@router.delete(
    "/{user_id}",
    summary="Delete User",
    responses={**reply(UserDeleted), **errors_for(400, 401, 403, 404)},
)
async def delete_user(
    user_id: str,
    ctx: Annotated[Ctx, Depends(require("users:write", "delete this user", allow_admin=True))],
) -> JSONResponse:
    """Delete a user; its API keys stop working at once. Records it created stay with the
    account. A user key may delete only users holding no permission it lacks."""
    user = await service.get_user(ctx.session, ctx.principal, user_id)
    now = ctx.clock.now()
    items = await service.delete_user(ctx.session, ctx.principal, user)
    data = {
        "id": user_id,
        "deleted": True,
        "deleted_time": format_time(now),
        "deleted_items": items,
    }
    return await respond(ctx, data, message="User deleted successfully")


@router.post(
    "/{user_id}/rotate-key",
    status_code=201,
    summary="Rotate API key",
    responses={**reply(KeyRotated, 201), **errors_for(400, 401, 403, 404, 422)},
)
async def rotate_key(
    user_id: str,
    ctx: Annotated[Ctx, Depends(require(None, "rotate this user's key", allow_admin=True))],
    body: KeyRotate | None = None,
) -> JSONResponse:
    """Issue a new API key for the user: itself, or, with ``users:write``, a user holding no
    permission the caller lacks (the admin key: anyone).

    By default every existing key of the user is revoked at once; send
    ``{"revoke_existing": false}`` to keep them for a hand-over period.
    """
    user = await _visible_user(ctx, user_id, "users:write", "rotate this user's key")
    revoke = body.revoke_existing if body is not None else True
    key = await service.rotate_key(ctx.session, ctx.principal, user, revoke, ctx.clock.now())
    return await respond(
        ctx,
        {"id": user.id, "api_key": key},
        status=201,
        message="API key rotated successfully",
        shown_once="api_key",
    )
