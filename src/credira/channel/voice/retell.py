"""Retell AI behind the voice port: Retell's own agent holds the conversation.

Dialling: ``POST {api_base}/v2/create-phone-call`` (Bearer API key) with the account's Retell
agent (``override_agent_id``), the invoice's values and our rendered script as the agent's
dynamic variables (``{{customer_name}}``, ``{{amount}}``, ``{{script}}`` ... in its prompt),
and our ids in ``metadata``. Retell documents no idempotency key for this request, so it is sent
once: when its answer is lost (a timeout, a dropped connection, a gateway error), the call is
looked up with ``POST /v3/list-calls`` filtered on our call id in the metadata, and adopted
when found, before anything is dialled again (``hosted.HostedCalls._place``).

Status: Retell posts ``call_started``, ``call_ended`` and ``call_analyzed`` to the webhook URL
set on the agent (``{CREDIRA_PUBLIC_URL}/hooks/retell``), signed ``x-retell-signature:
v=<ms>,d=<hex HMAC-SHA256(API key, body + ms)>`` (``retell.lib.webhook_auth``), refused past
five minutes. The call object's ``disconnection_reason`` gives our final status, its
``transcript`` (``Agent:`` / ``User:`` lines) is analysed like any other, ``call_cost.
combined_cost`` (cents) is the cost in USD, and ``recording_url`` is fetched when the call
ends (Retell's links expire). Reports are merged into the attempt's ``provider_calls`` row
moving forward only; the worker follows that row and reads ``GET /v2/get-call/{id}`` when
webhooks stop coming.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.channel.voice import provider_call_repository as repository
from credira.channel.voice.hosted import (
    UNCLEAR_STATUSES,
    AccountLookup,
    HostedCalls,
    Unanswered,
    unanswered,
)
from credira.channel.voice.port import (
    FINAL_STATUSES,
    CallRequest,
    CallStatus,
    ProviderCall,
    Recording,
    VoiceProviderError,
)
from credira.channel.voice.reported import Report
from credira.kit.clock import Clock
from credira.models import ProviderCall as CallRow
from credira.provider.service import ProviderAccount

log = structlog.get_logger("credira.voice.retell")

TOLERANCE_MS = 5 * 60 * 1000
_SIGNATURE = re.compile(r"v=(\d+),d=([0-9a-f]{64})")
# disconnection_reason -> our final status (any other ending of a connected call: completed).
ENDINGS: dict[str, CallStatus] = {
    "dial_busy": "busy",
    "dial_no_answer": "no_answer",
    "user_declined": "no_answer",
    "registered_call_timeout": "no_answer",
    "voicemail_reached": "voicemail",
    "ivr_reached": "voicemail",
    "manual_stopped": "cancelled",
    "dial_failed": "failed",
    "invalid_destination": "failed",
    "telephony_provider_permission_denied": "failed",
    "telephony_provider_unavailable": "failed",
    "sip_routing_error": "failed",
    "marked_as_spam": "failed",
    "no_valid_payment": "failed",
    "concurrency_limit_reached": "failed",
    "no_concurrency_fallback": "failed",
    "scam_detected": "failed",
}
NOT_CONNECTED = {"busy", "no_answer", "failed"}


class WebhookRefused(Exception):
    """A webhook that is not Retell's for this call (unsigned, forged, too old)."""


class WebhookUnknown(Exception):
    """A webhook about a call Credira did not place."""


def sign(body: str, api_key: str, at_ms: int) -> str:
    """Retell's ``x-retell-signature`` of ``body`` at ``at_ms`` (also what tests sign with)."""
    digest = hmac.new(api_key.encode(), (body + str(at_ms)).encode(), hashlib.sha256)
    return f"v={at_ms},d={digest.hexdigest()}"


def verify(body: str, api_key: str, signature: str, now_ms: int) -> bool:
    match = _SIGNATURE.fullmatch(signature.strip())
    if match is None:
        return False
    at_ms = int(match.group(1))
    if abs(now_ms - at_ms) > TOLERANCE_MS:
        return False
    return hmac.compare_digest(sign(body, api_key, at_ms), f"v={at_ms},d={match.group(2)}")


def _instant(ms: Any) -> datetime | None:
    if not isinstance(ms, int | float) or ms <= 0:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC)


def status_of_call(call: Mapping[str, Any]) -> CallStatus | None:
    state = call.get("call_status")
    if state == "registered":
        return "initiated"
    if state == "ongoing":
        return "in_progress"
    if state not in ("ended", "not_connected", "error"):
        return None
    reason = str(call.get("disconnection_reason") or "")
    analysis = call.get("call_analysis") or {}
    if isinstance(analysis, dict) and analysis.get("in_voicemail"):
        return "voicemail"
    if reason in ENDINGS:
        return ENDINGS[reason]
    if state != "ended" or reason.startswith("error"):
        return "failed"
    return "completed"


def report_of_call(call: Mapping[str, Any]) -> Report:
    """A call object (webhook or ``get-call``) as a report."""
    status = status_of_call(call)
    final = status in FINAL_STATUSES
    connected = status not in NOT_CONNECTED
    cost = (call.get("call_cost") or {}).get("combined_cost")
    duration_ms = call.get("duration_ms")
    return Report(
        sid=call.get("call_id"),
        status=status,
        answered_time=_instant(call.get("start_timestamp")) if connected else None,
        ended_time=_instant(call.get("end_timestamp")) if final else None,
        duration=int(duration_ms) // 1000 if final and isinstance(duration_ms, int) else None,
        cost=f"{cost / 100:.4f}" if final and isinstance(cost, int | float) else None,
        currency="USD" if final and isinstance(cost, int | float) else None,
        recording_url=call.get("recording_url"),
        transcript=call.get("transcript") if final else None,
        error=str(call.get("disconnection_reason")) if status == "failed" else None,
    )


class RetellVoice(HostedCalls):
    name = "retell"
    title = "Retell"
    # Retell documents no idempotency for create-phone-call: an attempt whose create went
    # unanswered is looked up (``/v3/list-calls`` by our call id in the metadata) instead, and
    # the call's id is written as soon as it is known.
    dedupes = False

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        accounts: AccountLookup,
        *,
        read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        timeout: float = 10.0,
        poll_seconds: float = 30.0,
    ) -> None:
        super().__init__(
            sessionmaker,
            clock,
            accounts,
            read_sessionmaker=read_sessionmaker,
            timeout=timeout,
            poll_seconds=poll_seconds,
        )

    async def _request(
        self, account: ProviderAccount, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {account['api_key']}"}
        async with httpx.AsyncClient(timeout=self._timeout, headers=headers) as http:
            return await http.request(method, f"{account.api_base}{path}", **kwargs)

    async def start_call(self, request: CallRequest) -> str:
        account_id = request.metadata.get("account_id", "")
        call_id = request.metadata.get("call_id", "")
        account = await self._account(account_id)
        if not request.from_number:
            raise VoiceProviderError("a Retell call needs the agent's from_number", retryable=False)
        body = {
            "from_number": request.from_number,
            "to_number": request.to_number,
            "override_agent_id": account["agent_id"],
            "retell_llm_dynamic_variables": {
                **request.variables,
                "script": request.script,
                "language": request.language,
            },
            "metadata": {"credira_call_id": call_id, "credira_account_id": account_id},
        }

        async def create() -> str:
            try:
                response = await self._request(account, "POST", "/v2/create-phone-call", json=body)
            except httpx.HTTPError as exc:
                if unanswered(exc):
                    raise Unanswered(f"{type(exc).__name__}: {exc}") from None
                raise VoiceProviderError(f"Retell is unreachable: {exc}") from None
            if response.status_code in (200, 201):
                try:
                    sid = str(response.json().get("call_id") or "")
                except (ValueError, AttributeError):
                    sid = ""
                if not sid:
                    raise Unanswered("Retell answered without a call_id")
                await self._apply_key(request.idempotency_key, Report(sid=sid))
                log.info("retell.call.placed", call_id=call_id, provider_call_id=sid)
                return sid
            if response.status_code in UNCLEAR_STATUSES:
                raise Unanswered(f"HTTP {response.status_code}")
            problem = _message(response)
            if response.status_code == 429 or response.status_code >= 500:
                raise VoiceProviderError(f"Retell did not place the call: {problem}")
            raise VoiceProviderError(f"Retell refused the call: {problem}", retryable=False)

        return await self._place(account, request, create)

    async def _find(self, account: ProviderAccount, row: CallRow) -> str | None:
        """``POST /v3/list-calls`` filtered on our call id in the call's metadata."""
        query = {
            "filter_criteria": {
                "metadata": [
                    {"key": "credira_call_id", "op": "eq", "type": "string", "value": row.call_id}
                ]
            },
            "limit": 10,
        }
        try:
            response = await self._request(account, "POST", "/v3/list-calls", json=query)
        except httpx.HTTPError as exc:
            raise VoiceProviderError(f"Retell's call list is unreachable: {exc}") from None
        if response.status_code != 200:
            raise VoiceProviderError(f"Retell's call list answered {response.status_code}")
        try:
            items = response.json().get("items") or []
        except (ValueError, AttributeError):
            raise VoiceProviderError("Retell's call list is not what it documents") from None
        found = [
            str(call["call_id"])
            for call in items
            if isinstance(call, dict)
            and call.get("call_id")
            and (call.get("metadata") or {}).get("credira_call_id") == row.call_id
        ]
        if len(found) > 1:
            log.error("retell.call.placed_twice", call_id=row.call_id, provider_call_ids=found)
        return found[0] if found else None

    async def _poll(self, row: CallRow) -> CallRow | None:
        sid = row.provider_call_id or ""
        try:
            account = await self._account(row.account_id)
            response = await self._request(account, "GET", f"/v2/get-call/{sid}")
        except (httpx.HTTPError, VoiceProviderError) as exc:
            log.warning("retell.call.poll_failed", provider_call_id=sid, error=str(exc)[:200])
            return None
        if response.status_code != 200:
            log.warning(
                "retell.call.poll_failed", provider_call_id=sid, status=response.status_code
            )
            return None
        return await self._apply_key(row.idempotency_key, report_of_call(response.json()))

    async def cancel_call(self, provider_call_id: str) -> None:
        row = await self._reading.submit(provider_call_id)
        if row is None or row.reported in FINAL_STATUSES:
            return
        try:
            account = await self._account(row.account_id)
            response = await self._request(account, "POST", f"/v2/stop-call/{provider_call_id}")
        except (httpx.HTTPError, VoiceProviderError) as exc:
            log.warning(
                "retell.call.stop_failed", provider_call_id=provider_call_id, error=str(exc)[:200]
            )
            return
        if response.status_code >= 400:
            log.warning(
                "retell.call.stop_refused",
                provider_call_id=provider_call_id,
                error=_message(response),
            )

    def recording_on_request(self, result: ProviderCall) -> str | None:
        return None  # Retell's recording links expire: fetched when the call ends

    async def fetch_recording(self, provider_call_id: str) -> Recording | None:
        row = await self._reading.submit(provider_call_id)
        if row is None or not row.recording_url:
            return None
        extension = "mp3" if urlsplit(row.recording_url).path.endswith(".mp3") else "wav"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(row.recording_url)
        except httpx.HTTPError as exc:
            raise VoiceProviderError(f"Retell's recording is unreachable: {exc}") from None
        if response.status_code != 200:
            return None
        return Recording(response.content, extension)

    async def on_webhook(self, body: bytes, signature: str) -> None:
        """A webhook (``{"event", "call"}``): verified with the account's API key, then merged."""
        try:
            payload = json.loads(body)
            call = payload["call"]
            call_id = str((call.get("metadata") or {}).get("credira_call_id") or "")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookUnknown("not a call webhook") from None
        async with self._read_sessionmaker() as session:
            row = await repository.by_call_id(session, self.name, call_id)
        if row is None:
            raise WebhookUnknown(call_id)
        account = await self._accounts(row.account_id)
        if account is None:
            raise WebhookRefused("the account has no Retell settings")
        now_ms = int(self._clock.now().timestamp() * 1000)
        if not verify(
            body.decode("utf-8", errors="replace"), account["api_key"], signature, now_ms
        ):
            raise WebhookRefused("the signature does not match, or is too old")
        if row.provider_call_id and call.get("call_id") != row.provider_call_id:
            raise WebhookRefused("another call")
        await self._apply_key(row.idempotency_key, report_of_call(call))


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    return f"HTTP {response.status_code}"
