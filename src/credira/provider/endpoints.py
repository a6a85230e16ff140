from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from credira.api.deps import Ctx, require
from credira.api.fast_json import JSONResponse
from credira.api.respond import respond
from credira.api.responses import errors_for, listing, reply
from credira.provider import service
from credira.provider.schemas import PROVIDER_NAMES, ProviderName, ProviderSettingsRead
from credira.provider.schemas import ProviderSettingsUpdate as Update
from credira.secret.crypto import cipher_for

router = APIRouter(prefix="/account/providers", tags=["Account"])


@router.get(
    "",
    summary="List Provider Settings",
    responses={**listing(ProviderSettingsRead, "providers"), **errors_for(401, 403)},
)
async def list_providers(
    ctx: Annotated[Ctx, Depends(require("users:read", "view this account's providers"))],
) -> JSONResponse:
    """Each voice provider (twilio, telnyx, vapi, retell): whether the account configured it,
    which of its fields are set and when (never their values), its API base URL, and the base
    of the callback URLs the provider must reach (``CREDIRA_PUBLIC_URL`` + ``/hooks/...``)."""
    public_url = ctx.runtime.settings.public_url
    data = await service.views(ctx.session, ctx.account_id, public_url)
    return await respond(ctx, data, total_providers=len(PROVIDER_NAMES), has_more=False)


@router.put(
    "/{provider}",
    summary="Set Provider Settings",
    responses={**reply(ProviderSettingsRead), **errors_for(401, 403, 404, 422)},
)
async def put_provider(
    provider: ProviderName,
    body: Update,
    ctx: Annotated[Ctx, Depends(require("users:write", "change this account's providers"))],
) -> JSONResponse:
    """Store the account's credentials for a provider, encrypted at rest
    (``CREDIRA_ENCRYPTION_KEY``): Twilio ``account_sid`` and ``auth_token``; Telnyx
    ``api_key``, ``connection_id`` and ``public_key``; Vapi ``api_key``, ``phone_number_id``
    and ``webhook_secret``; Retell ``api_key`` and ``agent_id``; each with an optional
    ``api_base``. The reply shows which fields are set, never their values."""
    cipher = cipher_for(ctx.runtime.settings)
    now = ctx.clock.now()
    setting = await service.put(ctx.session, cipher, ctx.account_id, provider, body, now)
    data = service.to_read(provider, setting, ctx.runtime.settings.public_url)
    return await respond(ctx, data, message="Provider settings saved")
