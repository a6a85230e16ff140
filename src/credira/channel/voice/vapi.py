"""Vapi behind the voice port: a Vapi assistant holds the conversation.

Dialling: ``POST {api_base}/call`` (Bearer API key) from the account's Vapi number
(``phoneNumberId``) with a transient assistant made of our agent: its rendered script as the
first message, a system prompt naming the debt, the invoice's values as ``variableValues``,
our call id in ``metadata``, and ``{CREDIRA_PUBLIC_URL}/hooks/vapi`` as its server URL with the
account's webhook secret in an ``X-Vapi-Secret`` header. Vapi has no idempotency key: the
attempt's row is written before the request, and an attempt whose create went unanswered is
looked up in Vapi's calls (``GET /call`` from the account's number around the create, our call
id in the assistant's metadata) before anything is dialled again (``hosted.HostedCalls._place``).

Status: Vapi posts ``{"message": {...}}`` to the server URL: ``status-update`` as the call moves
and the ``end-of-call-report`` (``endedReason``, ``artifact.transcript`` with ``AI:`` /
``User:`` lines, ``artifact.recordingUrl``, ``cost`` in USD, ``startedAt`` / ``endedAt``),
refused 403 without the account's secret (compared in constant time; Vapi signs no
timestamp). Reports are merged into the attempt's ``provider_calls`` row moving forward only;
``GET /call/{id}`` is the fallback when they stop coming.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
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

log = structlog.get_logger("credira.voice.vapi")

SECRET_HEADER = "X-Vapi-Secret"  # noqa: S105 - a header name
MODEL = {"provider": "openai", "model": "gpt-4o-mini"}
CLOCK_SKEW = timedelta(seconds=60)
LIST_LIMIT = 100  # Vapi's default and largest page of GET /call
# endedReason -> our final status (other endings of a call that was answered: completed;
# of one that was not: failed).
ENDINGS: dict[str, CallStatus] = {
    "customer-busy": "busy",
    "customer-did-not-answer": "no_answer",
    "voicemail": "voicemail",
    "manually-canceled": "cancelled",
}
ANSWERED_ENDINGS = (
    "customer-ended-call",
    "assistant-ended-call",
    "assistant-said-end-call-phrase",
    "assistant-forwarded-call",
    "exceeded-max-duration",
    "silence-timed-out",
)
PROGRESS: dict[str, CallStatus] = {
    "scheduled": "initiated",
    "queued": "initiated",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "forwarding": "in_progress",
}
SYSTEM_PROMPT = (
    "You are {agent_name}, calling {customer_name} on behalf of {company_name} about invoice "
    "{invoice_number} for {amount}, due on {due_date} ({days_overdue} days overdue). Be brief "
    "and polite, and speak {language}. Ask when they can pay. If they dispute the invoice, "
    "acknowledge it and say it will be looked into. If they ask to be called back, ask when. "
    "If they ask not to be called again, confirm that they will not be. Payment link: "
    "{payment_link}."
)


class WebhookRefused(Exception):
    """A server message that is not Vapi's for this call (no secret, or a wrong one)."""


class WebhookUnknown(Exception):
    """A server message about a call Credira did not place."""


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def ending_status(reason: str, answered: bool) -> CallStatus:
    if reason in ENDINGS:
        return ENDINGS[reason]
    if answered or reason in ANSWERED_ENDINGS or reason.startswith("assistant-ended-call"):
        return "completed"
    return "failed"


def our_call_id(message: Mapping[str, Any]) -> str | None:
    """Our call id, from the assistant's metadata wherever the message carries it."""
    call = message.get("call") or {}
    for holder in (message.get("assistant"), call.get("assistant"), call):
        metadata = (holder or {}).get("metadata") if isinstance(holder, dict) else None
        if isinstance(metadata, dict) and metadata.get("credira_call_id"):
            return str(metadata["credira_call_id"])
    return None


def report_of_message(message: Mapping[str, Any]) -> Report:
    kind = message.get("type")
    call = message.get("call") or {}
    sid = call.get("id")
    if kind == "status-update":
        status = PROGRESS.get(str(message.get("status")))
        at = (
            _instant(message.get("timestamp"))
            if isinstance(message.get("timestamp"), str)
            else None
        )
        return Report(sid=sid, status=status, answered_time=at if status == "in_progress" else None)
    if kind == "end-of-call-report":
        return report_of_end(
            sid,
            reason=str(message.get("endedReason") or ""),
            started=message.get("startedAt"),
            ended=message.get("endedAt"),
            cost=message.get("cost"),
            artifact=message.get("artifact") or {},
        )
    return Report(sid=sid)


def report_of_call(call: Mapping[str, Any]) -> Report:
    """A call as ``GET /call/{id}`` shows it."""
    if call.get("status") != "ended":
        return Report(sid=call.get("id"), status=PROGRESS.get(str(call.get("status"))))
    return report_of_end(
        call.get("id"),
        reason=str(call.get("endedReason") or ""),
        started=call.get("startedAt"),
        ended=call.get("endedAt"),
        cost=call.get("cost"),
        artifact=call.get("artifact") or {},
    )


def report_of_end(
    sid: Any, *, reason: str, started: Any, ended: Any, cost: Any, artifact: Mapping[str, Any]
) -> Report:
    start, end = _instant(started), _instant(ended)
    transcript = artifact.get("transcript") or None
    status = ending_status(reason, bool(transcript))
    answered = status in ("completed", "voicemail")
    duration = int((end - start).total_seconds()) if answered and start and end else 0
    return Report(
        sid=sid,
        status=status,
        answered_time=start if answered else None,
        ended_time=end,
        duration=duration,
        cost=f"{float(cost):.4f}" if isinstance(cost, int | float) else None,
        currency="USD" if isinstance(cost, int | float) else None,
        recording_url=artifact.get("recordingUrl"),
        transcript=transcript if answered else None,
        error=reason if status == "failed" else None,
    )


class VapiVoice(HostedCalls):
    name = "vapi"
    title = "Vapi"
    # Vapi places a second call for a repeated request; an interrupted attempt is looked up
    # instead, and the call's id is written as soon as it is known.
    dedupes = False

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        accounts: AccountLookup,
        *,
        public_url: str,
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
        self._hook_url = f"{public_url.rstrip('/')}/hooks/vapi"

    async def _request(
        self, account: ProviderAccount, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {account['api_key']}"}
        async with httpx.AsyncClient(timeout=self._timeout, headers=headers) as http:
            return await http.request(method, f"{account.api_base}{path}", **kwargs)

    def _body(self, account: ProviderAccount, request: CallRequest, call_id: str) -> dict[str, Any]:
        variables = {**request.variables, "language": request.language}
        prompt = SYSTEM_PROMPT.format_map(_Blank(variables))
        assistant: dict[str, Any] = {
            "name": variables.get("agent_name") or "Credira",
            "firstMessage": request.script,
            "model": {**MODEL, "messages": [{"role": "system", "content": prompt}]},
            "maxDurationSeconds": request.max_duration,
            "metadata": {"credira_call_id": call_id},
            "server": {
                "url": self._hook_url,
                "headers": {SECRET_HEADER: account["webhook_secret"]},
            },
            "serverMessages": ["status-update", "end-of-call-report"],
        }
        if request.voice and request.voice != "default":
            provider, _, voice_id = request.voice.partition(".")
            if voice_id:
                assistant["voice"] = {"provider": provider, "voiceId": voice_id}
        return {
            "phoneNumberId": account["phone_number_id"],
            "customer": {"number": request.to_number, "name": variables.get("customer_name")},
            "assistant": assistant,
            "assistantOverrides": {"variableValues": variables},
            "name": f"Credira {call_id}"[:40],
        }

    # --- The port ---

    async def start_call(self, request: CallRequest) -> str:
        account = await self._account(request.metadata.get("account_id", ""))
        call_id = request.metadata.get("call_id", "")
        body = self._body(account, request, call_id)

        async def create() -> str:
            try:
                response = await self._request(account, "POST", "/call", json=body)
            except httpx.HTTPError as exc:
                if unanswered(exc):
                    raise Unanswered(f"{type(exc).__name__}: {exc}") from None
                raise VoiceProviderError(f"Vapi is unreachable: {exc}") from None
            if response.status_code in (200, 201):
                try:
                    sid = str(response.json().get("id") or "")
                except (ValueError, AttributeError):
                    sid = ""
                if not sid:
                    raise Unanswered("Vapi answered without a call id")
                await self._apply_key(request.idempotency_key, Report(sid=sid))
                log.info("vapi.call.placed", call_id=call_id, provider_call_id=sid)
                return sid
            if response.status_code in UNCLEAR_STATUSES:
                raise Unanswered(f"HTTP {response.status_code}")
            raise VoiceProviderError(
                f"Vapi refused the call: {_message(response)}",
                retryable=response.status_code == 429 or response.status_code >= 500,
            )

        return await self._place(account, request, create)

    async def _find(self, account: ProviderAccount, row: CallRow) -> str | None:
        """Vapi's calls from the account's number created around the attempt's create
        (``GET /call``; Vapi filters by number and time, not by metadata), the one whose
        assistant carries our call id."""
        since = row.dial_time - CLOCK_SKEW
        until = row.dial_time + self._settle + CLOCK_SKEW
        params = {
            "phoneNumberId": account["phone_number_id"],
            "createdAtGe": _stamp(since),
            "createdAtLe": _stamp(until),
            "limit": str(LIST_LIMIT),
        }
        try:
            response = await self._request(account, "GET", "/call", params=params)
        except httpx.HTTPError as exc:
            raise VoiceProviderError(f"Vapi's call list is unreachable: {exc}") from None
        if response.status_code != 200:
            raise VoiceProviderError(f"Vapi's call list answered {response.status_code}")
        try:
            listed = response.json()
        except ValueError:
            raise VoiceProviderError("Vapi's call list is not JSON") from None
        listed = listed if isinstance(listed, list) else []
        for call in listed:
            if (
                isinstance(call, dict)
                and call.get("id")
                and our_call_id({"call": call}) == row.call_id
            ):
                return str(call["id"])
        if len(listed) >= LIST_LIMIT:
            # Ours may be past the page: not knowing is not "not placed".
            raise VoiceProviderError(f"Vapi lists {len(listed)} calls or more in that time")
        return None

    async def _poll(self, row: CallRow) -> CallRow | None:
        sid = row.provider_call_id or ""
        try:
            account = await self._account(row.account_id)
            response = await self._request(account, "GET", f"/call/{sid}")
        except (httpx.HTTPError, VoiceProviderError) as exc:
            log.warning("vapi.call.poll_failed", provider_call_id=sid, error=str(exc)[:200])
            return None
        if response.status_code != 200:
            return None
        return await self._apply_key(row.idempotency_key, report_of_call(response.json()))

    async def cancel_call(self, provider_call_id: str) -> None:
        """End a live call through its control URL (``monitor.controlUrl``)."""
        row = await self._reading.submit(provider_call_id)
        if row is None or row.reported in FINAL_STATUSES:
            return
        try:
            account = await self._account(row.account_id)
            found = await self._request(account, "GET", f"/call/{provider_call_id}")
            control = ((found.json() or {}).get("monitor") or {}).get("controlUrl")
            if found.status_code == 200 and control:
                async with httpx.AsyncClient(timeout=self._timeout) as http:
                    await http.post(control, json={"type": "end-call"})
        except (httpx.HTTPError, VoiceProviderError, ValueError) as exc:
            log.warning("vapi.call.end_failed", provider_call_id=provider_call_id, error=str(exc))

    def recording_on_request(self, result: ProviderCall) -> str | None:
        return None  # fetched when the call ends: the link may not last

    async def fetch_recording(self, provider_call_id: str) -> Recording | None:
        row = await self._reading.submit(provider_call_id)
        if row is None or not row.recording_url:
            return None
        extension = "mp3" if urlsplit(row.recording_url).path.endswith(".mp3") else "wav"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(row.recording_url)
        except httpx.HTTPError as exc:
            raise VoiceProviderError(f"Vapi's recording is unreachable: {exc}") from None
        return Recording(response.content, extension) if response.status_code == 200 else None

    async def on_message(self, body: bytes, secret: str) -> None:
        """A server message: checked against the account's webhook secret, then merged."""
        try:
            message = json.loads(body)["message"]
            call_id = our_call_id(message)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise WebhookUnknown("not a server message") from None
        row = None
        if call_id is not None:
            async with self._read_sessionmaker() as session:
                row = await repository.by_call_id(session, self.name, call_id)
        if row is None:
            raise WebhookUnknown(call_id or "no call id")
        account = await self._accounts(row.account_id)
        if account is None:
            raise WebhookRefused("the account has no Vapi settings")
        if not secret or not hmac.compare_digest(
            secret.encode(), str(account["webhook_secret"]).encode()
        ):
            raise WebhookRefused("the secret does not match")
        sid = (message.get("call") or {}).get("id")
        if row.provider_call_id and sid and sid != row.provider_call_id:
            raise WebhookRefused("another call")
        await self._apply_key(row.idempotency_key, report_of_message(message))


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    return f"HTTP {response.status_code}"
