"""Telnyx Call Control v2 behind the voice port.

Dialling: ``POST {api_base}/calls`` (Bearer API key) on the account's Call Control connection,
with ``command_id`` the attempt's key (Telnyx ignores a second dial with the same one, so a dial
whose answer was lost is sent again), answering-machine detection, recording from the answer,
our call id in ``client_state`` (echoed on every webhook) and ``{CREDIRA_PUBLIC_URL}/hooks/
telnyx`` as the webhook URL.

The call is driven from its webhooks, each verified with the account's Ed25519 public key over
``{telnyx-timestamp}|{body}`` and refused past five minutes: once AMD has decided, a person
hears the agent's script and the keypad menu (``gather_using_speak``: 1 promise to pay, 2
dispute, 3 call me back, 9 stop calling), a machine hears the message (``speak``); after the
answer, a last sentence, then ``hangup``. Every command carries a ``command_id`` of its own
(the call and the step), so a webhook that comes twice never issues a command twice. The key
pressed becomes the debtor's line of the transcript (``keypad``), ``call.hangup``'s
``hangup_cause`` the final status, ``call.cost`` the cost. Reports are merged into the attempt's
``provider_calls`` row moving forward only; the worker follows the row, and reads
``GET /calls/{id}`` (alive or not) when webhooks stop coming. That read says a call is over but
not how it ended (busy, no answer, rejected): a call found over waits one more poll period for
its ``call.hangup``, which says, and only a call still unheard of then ends as the read shows
(no answer, or completed once answered).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.channel.voice import provider_call_repository as repository
from credira.channel.voice.hosted import AccountLookup, HostedCalls
from credira.channel.voice.keypad import KEYPAD, status_of, view, wording
from credira.channel.voice.port import (
    FINAL_STATUSES,
    CallRequest,
    CallStatus,
    ProviderCall,
    Recording,
    VoiceProviderError,
)
from credira.channel.voice.reported import Report
from credira.conversation.context import CallContext, context_of, wants_conversation
from credira.conversation.relay import RelayCall, relay_url, sign_token
from credira.kit.clock import Clock
from credira.models import ProviderCall as CallRow
from credira.provider.service import ProviderAccount

log = structlog.get_logger("credira.voice.telnyx")

TOLERANCE_SECONDS = 300
SPEAK_LIMIT = 3000  # characters Telnyx speaks in one command
GATHER_MILLIS = 8000
SETTLE_SECONDS = 5.0  # the most a final answered call waits for its recording and cost
LOOK_AGAIN = (0.5, 1.0, 2.0)  # request timeouts to wait before each new look at a lost dial
CLIENT_STATE_PREFIX = "credira:"
# hangup_cause -> our final status; normal_clearing depends on whether the call was answered.
ENDINGS: dict[str, CallStatus] = {
    "user_busy": "busy",
    "call_rejected": "busy",
    "timeout": "no_answer",
    "no_answer": "no_answer",
    "originator_cancel": "cancelled",
    "not_found": "failed",
}


class WebhookRefused(Exception):
    """A webhook that is not Telnyx's for this call (unsigned, forged, too old)."""


class WebhookUnknown(Exception):
    """A webhook about a call Credira did not place."""


def client_state(call_id: str) -> str:
    return base64.b64encode(f"{CLIENT_STATE_PREFIX}{call_id}".encode()).decode()


def call_id_of(state: Any) -> str | None:
    try:
        text = base64.b64decode(str(state), validate=True).decode()
    except (binascii.Error, ValueError):
        return None
    return text.removeprefix(CLIENT_STATE_PREFIX) if text.startswith(CLIENT_STATE_PREFIX) else None


def verify(body: bytes, public_key: str, signature: str, timestamp: str, now: float) -> bool:
    """Telnyx's Ed25519 signature of ``{timestamp}|{body}``, no older than five minutes."""
    try:
        sent = int(timestamp)
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key))
        key.verify(base64.b64decode(signature), f"{sent}|".encode() + body)
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return abs(now - sent) <= TOLERANCE_SECONDS


def _instant(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def final_status(cause: str, answered: bool) -> CallStatus:
    if cause in ENDINGS:
        return ENDINGS[cause]
    if answered:
        return "completed"
    return "no_answer" if cause == "normal_clearing" else "failed"


class TelnyxVoice(HostedCalls):
    name = "telnyx"
    title = "Telnyx"
    dedupes = True  # the dial's command_id

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
        self._hook_url = f"{public_url.rstrip('/')}/hooks/telnyx"
        self._public_url = public_url.rstrip("/")
        # Calls a read found over before their call.hangup came.
        self._ended_unheard: set[str] = set()

    async def _request(
        self, account: ProviderAccount, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {account['api_key']}"}
        async with httpx.AsyncClient(timeout=self._timeout, headers=headers) as http:
            return await http.request(method, f"{account.api_base}{path}", **kwargs)

    # --- The port ---

    async def start_call(self, request: CallRequest) -> str:
        account_id = request.metadata.get("account_id", "")
        call_id = request.metadata.get("call_id", "")
        account = await self._account(account_id)
        if not request.from_number:
            raise VoiceProviderError("a Telnyx call needs the agent's from_number", retryable=False)
        row = {
            **self._attempt_row(request),
            # Our own agent's call: what it knows of the debt, for its relay socket.
            "conversation": {"context": context_of(request).to_json()}
            if wants_conversation(request)
            else None,
        }
        async with self._sessionmaker() as session:
            written = await repository.insert_new(session, row)
            await session.commit()
        body = {
            "connection_id": account["connection_id"],
            "to": request.to_number,
            "from": request.from_number,
            "command_id": request.idempotency_key,
            "client_state": client_state(call_id),
            "webhook_url": self._hook_url,
            "webhook_url_method": "POST",
            "answering_machine_detection": "detect",
            "record": "record-from-answer",
            "record_format": "wav",
            "timeout_secs": 30,
            "time_limit_secs": request.max_duration,
        }
        problem = "no answer"
        for attempt, wait in enumerate((0.0, *LOOK_AGAIN)):
            await asyncio.sleep(wait * self._timeout)
            if attempt or not written:
                known = await self._known_sid(request.idempotency_key)
                if known:
                    return known
            try:
                response = await self._request(account, "POST", "/calls", json=body)
            except httpx.TimeoutException:
                problem = "timed out"
                continue  # the same command_id: Telnyx places one call
            except httpx.HTTPError as exc:
                raise VoiceProviderError(f"Telnyx is unreachable: {exc}") from None
            if response.status_code in (200, 201):
                data = response.json().get("data") or {}
                sid = str(data.get("call_control_id") or "")
                if sid:
                    await self._apply_key(request.idempotency_key, Report(sid=sid))
                    log.info("telnyx.call.placed", call_id=call_id, provider_call_id=sid)
                    return sid
                problem = "answered without a call_control_id"
                continue
            problem = _message(response)
            if response.status_code != 429 and response.status_code < 500:
                raise VoiceProviderError(f"Telnyx refused the call: {problem}", retryable=False)
        raise VoiceProviderError(f"Telnyx did not place the call: {problem}")

    def _shown(self, row: CallRow) -> ProviderCall:
        if self._final(row) and self._settling(row):
            # call.recording.saved and call.cost follow call.hangup: a moment more.
            return ProviderCall(row.provider_call_id or "", "in_progress")
        return view(row)

    def _settling(self, row: CallRow) -> bool:
        if row.answered_time is None or (row.cost is not None and row.recording_url):
            return False
        ended = row.ended_time or row.heard_time
        return (self._clock.now() - ended).total_seconds() < SETTLE_SECONDS

    async def get_call(self, provider_call_id: str) -> ProviderCall:
        shown = await super().get_call(provider_call_id)
        if shown.status in FINAL_STATUSES:
            self._ended_unheard.discard(provider_call_id)
        return shown

    async def _poll(self, row: CallRow) -> CallRow | None:
        """``GET /calls/{id}``: a call no longer alive ended without our hearing how. Its
        ``call.hangup`` (late, not lost) is awaited for one more poll period; a call still
        unheard of then ends as the read shows."""
        sid = row.provider_call_id or ""
        try:
            account = await self._account(row.account_id)
            response = await self._request(account, "GET", f"/calls/{sid}")
        except (httpx.HTTPError, VoiceProviderError) as exc:
            log.warning("telnyx.call.poll_failed", provider_call_id=sid, error=str(exc)[:200])
            return None
        if response.status_code != 200:
            return None
        data = response.json().get("data") or {}
        if data.get("is_alive") is not False:
            self._ended_unheard.discard(sid)
            return None
        if sid not in self._ended_unheard:
            # The next read is a poll period away: time for a late call.hangup to come.
            self._ended_unheard.add(sid)
            log.info("telnyx.call.ended_unheard", call_id=row.call_id, provider_call_id=sid)
            return None
        self._ended_unheard.discard(sid)
        log.warning("telnyx.call.hangup_unheard", call_id=row.call_id, provider_call_id=sid)
        answered = row.answered_time is not None
        status: CallStatus = "completed" if answered else "no_answer"
        ended = _instant(data.get("end_time")) or self._clock.now()
        duration = data.get("call_duration")
        report = Report(
            status=status,
            ended_time=ended,
            duration=int(duration) if isinstance(duration, int) else None,
        )
        return await self._apply_key(row.idempotency_key, report)

    async def cancel_call(self, provider_call_id: str) -> None:
        row = await self._reading.submit(provider_call_id)
        if row is None or row.reported in FINAL_STATUSES:
            return
        await self._command(row, "hangup", {}, step="cancel")

    def recording_on_request(self, result: ProviderCall) -> str | None:
        return None  # Telnyx's recording links expire: fetched when the call ends

    async def fetch_recording(self, provider_call_id: str) -> Recording | None:
        row = await self._reading.submit(provider_call_id)
        if row is None or not row.recording_url:
            return None
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.get(row.recording_url)
        except httpx.HTTPError as exc:
            raise VoiceProviderError(f"Telnyx's recording is unreachable: {exc}") from None
        return Recording(response.content, "wav") if response.status_code == 200 else None

    # --- Commands and webhooks ---

    async def _command(self, row: CallRow, action: str, body: dict[str, Any], *, step: str) -> None:
        """One Call Control command, with a command_id of its own (a repeated webhook that
        issues it again changes nothing at Telnyx)."""
        sid = row.provider_call_id or ""
        command = {**body, "command_id": f"{row.call_id}:{step}"}
        try:
            account = await self._account(row.account_id)
            response = await self._request(
                account, "POST", f"/calls/{sid}/actions/{action}", json=command
            )
        except (httpx.HTTPError, VoiceProviderError) as exc:
            log.warning("telnyx.command.failed", action=action, call_id=row.call_id, error=str(exc))
            return
        if response.status_code >= 400:
            log.warning(
                "telnyx.command.refused",
                action=action,
                call_id=row.call_id,
                error=_message(response),
            )

    def _speech(self, row: CallRow, text: str) -> dict[str, Any]:
        voice = row.voice if row.voice and row.voice != "default" else "female"
        return {
            "payload": text[:SPEAK_LIMIT],
            "voice": voice,
            "language": row.language,
            "client_state": client_state(row.call_id),
        }

    async def on_webhook(self, body: bytes, signature: str, timestamp: str) -> None:
        """A Call Control webhook: verified with the account's public key, merged, and acted on."""
        try:
            event = json.loads(body)["data"]
            kind = str(event["event_type"])
            payload: Mapping[str, Any] = event.get("payload") or {}
        except (ValueError, KeyError, TypeError):
            raise WebhookUnknown("not a Call Control webhook") from None
        call_id = call_id_of(payload.get("client_state"))
        row = None
        if call_id is not None:
            async with self._read_sessionmaker() as session:
                row = await repository.by_call_id(session, self.name, call_id)
        if row is None:
            raise WebhookUnknown(call_id or "no client_state")
        account = await self._accounts(row.account_id)
        if account is None:
            raise WebhookRefused("the account has no Telnyx settings")
        if not verify(
            body, account["public_key"], signature, timestamp, self._clock.now().timestamp()
        ):
            raise WebhookRefused("the signature does not match, or is too old")
        sid = payload.get("call_control_id")
        if row.provider_call_id and sid and sid != row.provider_call_id:
            raise WebhookRefused("another call")
        at = _instant(event.get("occurred_at")) or self._clock.now()
        row = await self._apply_key(row.idempotency_key, self._report(kind, payload, at, row))
        if row is not None:
            await self._act(kind, payload, row)

    def _report(self, kind: str, payload: Mapping[str, Any], at: datetime, row: CallRow) -> Report:
        sid = payload.get("call_control_id")
        if kind == "call.initiated":
            return Report(sid=sid, status="initiated")
        if kind == "call.answered":
            return Report(sid=sid, status="in_progress", answered_time=at)
        if kind in ("call.machine.detection.ended", "call.machine.premium.detection.ended"):
            result = str(payload.get("result") or "")
            return Report(sid=sid, answered_by="machine" if "machine" in result else "human")
        if kind == "call.gather.ended":
            digits = str(payload.get("digits") or "")[:1]
            return Report(sid=sid, digits=digits if digits in KEYPAD else None)
        if kind == "call.hangup":
            answered = row.answered_time is not None
            status = final_status(str(payload.get("hangup_cause") or ""), answered)
            start = _instant(payload.get("start_time")) or row.answered_time
            duration = int((at - start).total_seconds()) if answered and start else 0
            error = str(payload.get("hangup_cause")) if status == "failed" else None
            return Report(sid=sid, status=status, ended_time=at, duration=duration, error=error)
        if kind == "call.recording.saved":
            urls = payload.get("recording_urls") or payload.get("public_recording_urls") or {}
            return Report(
                sid=sid, recording_url=urls.get("wav") if isinstance(urls, dict) else None
            )
        if kind == "call.cost":
            total = payload.get("total_cost")
            currency = payload.get("currency")
            return Report(
                sid=sid,
                cost=str(total) if total is not None else None,
                currency=str(currency).upper() if total is not None and currency else None,
            )
        return Report(sid=sid)

    async def _act(self, kind: str, payload: Mapping[str, Any], row: CallRow) -> None:
        """What the call does next: the menu once AMD has found a person, the message for a
        machine, a last sentence after the answer, then the hang-up."""
        if status_of(row) in FINAL_STATUSES:
            return
        words = wording(row.language)
        if kind in ("call.machine.detection.ended", "call.machine.premium.detection.ended"):
            if row.answered_by == "machine":
                text = f"{row.script} {words.voicemail}"
                await self._command(row, "speak", self._speech(row, text), step="message")
            elif row.conversation is not None:
                await self._relay(row)
            else:
                menu = self._speech(row, f"{row.script} {words.menu}")
                gather = {
                    **menu,
                    "valid_digits": "".join(sorted(KEYPAD)),
                    "minimum_digits": 1,
                    "maximum_digits": 1,
                    "timeout_millis": GATHER_MILLIS,
                }
                await self._command(row, "gather_using_speak", gather, step="menu")
        elif kind == "call.gather.ended":
            text = words.thanks[row.digits] if row.digits in KEYPAD else words.no_answer
            await self._command(row, "speak", self._speech(row, text), step="answer")
        elif kind in ("call.speak.ended", "call.conversation.ended"):
            await self._command(row, "hangup", {}, step="hangup")

    # --- Our own agent (``credira.conversation``) ---

    async def _relay(self, row: CallRow) -> None:
        """Our own agent on the line: Conversation Relay connects the call to our socket, its
        token naming this attempt, signed with the account's API key."""
        account = await self._account(row.account_id)
        token = sign_token(row.call_id, account["api_key"], self._clock.now())
        body = {
            "conversation_relay_url": relay_url(self._public_url, token, self.name),
            "conversation_relay_dtmf_detection": True,
            "client_state": client_state(row.call_id),
        }
        await self._command(row, "conversation_relay_start", body, step="relay")

    async def opened(self, call_id: str) -> RelayCall | None:
        """A conversation agent's call whose socket may open (``relay.RelayStore``)."""
        found = await self._relayable(call_id)
        if found is None:
            return None
        row, conversation, account = found
        return RelayCall(
            call_id=row.call_id,
            context=CallContext.from_json(conversation["context"]),
            auth_token=account["api_key"],
            account_sid="",
            provider_call_id=row.provider_call_id,
            signed=False,
            provider=self.name,
        )


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("detail") or errors[0].get("title") or "")[:300]
    return f"HTTP {response.status_code}"
