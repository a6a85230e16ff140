"""The voice providers' callbacks. No API key: each request is verified with its provider's
signature scheme and the account's credentials, and refused (403, logged, nothing changed)
when it is unsigned, forged or about another account's call.

The URL a provider signs is the one it was given, built on ``CREDIRA_PUBLIC_URL``; behind a
proxy the request reaches us at another address, so the signed URL is rebuilt from that
setting and the request's path and query, never from the ``Host`` the proxy sends.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import Response

from credira.api.deps import runtime
from credira.channel.voice import telnyx, vapi
from credira.channel.voice.port import VoiceProviderError
from credira.channel.voice.retell import RetellVoice, WebhookRefused, WebhookUnknown
from credira.channel.voice.twilio import CallbackRefused, CallbackUnknown, Params, TwilioVoice
from credira.errors import Forbidden, NotFound

log = structlog.get_logger("credira.hooks")

router = APIRouter(prefix="/hooks", include_in_schema=False)

TWIML = "application/xml"


def _twilio(request: Request) -> TwilioVoice:
    try:
        provider = runtime(request).voice.get("twilio")
    except VoiceProviderError:
        raise NotFound("Twilio is not set up on this server") from None
    if not isinstance(provider, TwilioVoice):
        raise NotFound("Twilio is not set up on this server")
    return provider


def _signed_url(request: Request) -> str:
    public = runtime(request).settings.public_url.rstrip("/")
    query = request.url.query
    return f"{public}{request.url.path}" + (f"?{query}" if query else "")


async def _params(request: Request) -> Params:
    body = (await request.body()).decode("utf-8", errors="replace")
    return Params(parse_qsl(body, keep_blank_values=True))


@router.post("/twilio/calls/{call_id}/{kind}")
async def twilio_callback(call_id: str, kind: str, request: Request) -> Response:
    """A Twilio callback about one of our calls: its status, its recording, what to play once
    it is answered (TwiML), and the key the debtor pressed (TwiML)."""
    twilio = _twilio(request)
    handlers = {
        "status": twilio.on_status,
        "recording": twilio.on_recording,
        "twiml": twilio.on_answer,
        "gather": twilio.on_gather,
    }
    handler = handlers.get(kind)
    if handler is None:
        raise NotFound("Unknown Twilio callback")
    params = await _params(request)
    signature = request.headers.get("x-twilio-signature", "")
    try:
        answer = await handler(call_id, _signed_url(request), params, signature)
    except CallbackUnknown:
        log.warning("hooks.twilio.unknown_call", call_id=call_id, kind=kind)
        raise NotFound("Unknown call") from None
    except CallbackRefused as exc:
        log.warning("hooks.twilio.refused", call_id=call_id, kind=kind, reason=str(exc))
        raise Forbidden("The request is not signed by Twilio for this call") from None
    if isinstance(answer, str):
        return Response(answer, media_type=TWIML)
    return Response(status_code=204)


def _retell(request: Request) -> RetellVoice:
    try:
        provider = runtime(request).voice.get("retell")
    except VoiceProviderError:
        raise NotFound("Retell is not set up on this server") from None
    if not isinstance(provider, RetellVoice):
        raise NotFound("Retell is not set up on this server")
    return provider


@router.post("/retell")
async def retell_webhook(request: Request) -> Response:
    """Retell's webhook (the agent's webhook URL): call_started, call_ended, call_analyzed."""
    retell = _retell(request)
    body = await request.body()
    try:
        await retell.on_webhook(body, request.headers.get("x-retell-signature", ""))
    except WebhookUnknown:
        log.warning("hooks.retell.unknown_call")
        raise NotFound("Unknown call") from None
    except WebhookRefused as exc:
        log.warning("hooks.retell.refused", reason=str(exc))
        raise Forbidden("The request is not signed by Retell for this call") from None
    return Response(status_code=204)


def _telnyx(request: Request) -> telnyx.TelnyxVoice:
    try:
        provider = runtime(request).voice.get("telnyx")
    except VoiceProviderError:
        raise NotFound("Telnyx is not set up on this server") from None
    if not isinstance(provider, telnyx.TelnyxVoice):
        raise NotFound("Telnyx is not set up on this server")
    return provider


@router.post("/telnyx")
async def telnyx_webhook(request: Request) -> Response:
    """A Telnyx Call Control webhook about one of our calls (client_state names it)."""
    adapter = _telnyx(request)
    body = await request.body()
    try:
        await adapter.on_webhook(
            body,
            request.headers.get("telnyx-signature-ed25519", ""),
            request.headers.get("telnyx-timestamp", ""),
        )
    except telnyx.WebhookUnknown:
        log.warning("hooks.telnyx.unknown_call")
        raise NotFound("Unknown call") from None
    except telnyx.WebhookRefused as exc:
        log.warning("hooks.telnyx.refused", reason=str(exc))
        raise Forbidden("The request is not signed by Telnyx for this call") from None
    return Response(status_code=204)


def _vapi(request: Request) -> vapi.VapiVoice:
    try:
        provider = runtime(request).voice.get("vapi")
    except VoiceProviderError:
        raise NotFound("Vapi is not set up on this server") from None
    if not isinstance(provider, vapi.VapiVoice):
        raise NotFound("Vapi is not set up on this server")
    return provider


@router.post("/vapi")
async def vapi_message(request: Request) -> Response:
    """A Vapi server message about one of our calls (status-update, end-of-call-report)."""
    adapter = _vapi(request)
    body = await request.body()
    try:
        await adapter.on_message(body, request.headers.get(vapi.SECRET_HEADER, ""))
    except vapi.WebhookUnknown:
        log.warning("hooks.vapi.unknown_call")
        raise NotFound("Unknown call") from None
    except vapi.WebhookRefused as exc:
        log.warning("hooks.vapi.refused", reason=str(exc))
        raise Forbidden("The request does not carry this account's Vapi secret") from None
    return Response(status_code=204)
