from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from credira.account.schemas import AccountRead, AccountSettingsUpdate
from credira.account.settings import OutreachSettings
from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.respond import respond
from credira.api.responses import errors_for, reply
from credira.errors import NotFound
from credira.kit.clock import format_time
from credira.models import Account

router = APIRouter(prefix="/account", tags=["Account"])


def _read(account: Account) -> dict[str, Any]:
    settings = asdict(OutreachSettings.from_json(account.settings))
    settings["retry_minutes"] = list(settings["retry_minutes"])
    return {
        "id": account.id,
        "name": account.name,
        "created_time": format_time(account.created_time),
        "settings": settings,
    }


async def _account(ctx: Ctx) -> Account:
    account = await ctx.session.get(Account, ctx.account_id)
    if account is None:
        raise NotFound("Account not found")
    return account


@router.get("", summary="Get Account", responses={**reply(AccountRead), **errors_for(401, 403)})
async def get_account(
    ctx: Annotated[Ctx, Depends(require(None, "access this account"))],
) -> JSONResponse:
    """The caller's account and its outreach settings (every value, defaults included)."""
    return await respond(ctx, _read(await _account(ctx)))


@router.put(
    "/settings",
    summary="Update Account Settings",
    responses={**reply(AccountRead), **errors_for(401, 403, 422)},
)
async def update_settings(
    body: AccountSettingsUpdate,
    ctx: Annotated[Ctx, Depends(require("users:write", "change this account's settings"))],
) -> JSONResponse:
    """Change the account's outreach settings: retries, holidays, the weekly contact limit, the
    locale of emails, and the daily cost caps. The legal calling rules (the calling window, 7
    calls in 7 days, the quiet period after a conversation) are not settings."""
    account = await _account(ctx)
    account.settings = {**account.settings, **body.model_dump(exclude_none=True)}
    await ctx.session.flush()
    return await respond(ctx, _read(account), message="Account settings updated successfully")
