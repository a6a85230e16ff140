"""Twilio Programmable Voice behind the voice port.

Dialling: ``POST {api_base}/2010-04-01/Accounts/{AccountSid}/Calls.json``, form-encoded, Basic
auth, with a status callback for every event, answering-machine detection (waiting for the
greeting's end, so a voicemail gets the whole message) and recording. Twilio fetches what to
play from ``/hooks/twilio/calls/{call_id}/twiml`` once the call is answered: the agent's
rendered script in its language and voice, then a keypad menu (1 promise to pay, 2 dispute,
3 call me back, 9 stop calling) whose answer becomes a debtor's line of the transcript, so it
is read into the same outcomes as a conversation.

Exactly one dial per attempt, though Twilio has no idempotency key: the attempt's row in
``provider_calls`` is written before the request goes out, keyed by the attempt's key, and
every callback URL carries our call id. An attempt found with a row but no Twilio call id (the
request timed out, failed with a 5xx, or its worker died before it heard the answer) is looked
up before anything is dialled: first in the row (a callback may have named the call), then in
Twilio's list of calls to that number from that caller id made since the row was written.
Only a call found nowhere is dialled.

Status: Twilio's callbacks (verified with the account's auth token over the public URL and
sorted parameters, ``twilio.request_validator``) fill the row in; they may come late, twice or
out of order, so a status only moves forward (``call.state.may_move``) and a value once known
is kept. The worker following the call reads the row; when callbacks stop coming for
``CREDIRA_PROVIDER_POLL_SECONDS`` it reads the call from Twilio's API instead, and once the call
is final it reads its price and duration there once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.request_validator import RequestValidator

from credira.channel.voice import provider_call_repository as repository
from credira.channel.voice.hosted import AccountLookup, HostedCalls
from credira.channel.voice.keypad import KEYPAD, machine, status_of, view, wording
from credira.channel.voice.port import (
    FINAL_STATUSES,
    CallRequest,
    CallStatus,
    ProviderCall,
    Recording,
    VoiceProviderError,
)
from credira.channel.voice.reported import Report, merge
from credira.conversation.context import CallContext, context_of, wants_conversation
from credira.conversation.relay import RelayCall, relay_url, sign_token
from credira.kit.clock import Clock
from credira.models import ProviderCall as CallRow
from credira.provider.service import ProviderAccount

log = structlog.get_logger("credira.voice.twilio")

API_VERSION = "2010-04-01"
RING_SECONDS = 30
GATHER_SECONDS = 8
# A call Twilio lists to the same number and caller id counts as this attempt's when it was
# created no earlier than this before the attempt's row (the two clocks differ a little).
CLOCK_SKEW = timedelta(seconds=60)
# After a dial request whose answer was lost, Twilio's call list is read again after these
# many request timeouts, in case it was still placing the call.
LOOK_AGAIN = (0.5, 1.0, 2.0)
STATUSES: dict[str, CallStatus] = {
    "queued": "initiated",
    "initiated": "initiated",
    "ringing": "ringing",
    "in-progress": "in_progress",
    "completed": "completed",
    "busy": "busy",
    "no-answer": "no_answer",
    "failed": "failed",
    "canceled": "cancelled",
}


class CallbackRefused(Exception):
    """A callback that is not Twilio's for this call (unsigned, forged, another account)."""


class CallbackUnknown(Exception):
    """A callback about a call Credira never dialled."""


class Params:
    """A form's parameters, each name with all its values, as the validator reads them."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def __iter__(self) -> Any:
        return iter(self._values)

    def getall(self, name: str) -> list[str]:
        return self._values[name]

    def get(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None


def _time(value: str | None) -> datetime | None:
    """An RFC 2822 time, as Twilio writes them (``Tue, 08 Dec 2026 01:02:03 +0000``)."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def report_of_callback(params: Params) -> Report:
    status = STATUSES.get(params.get("CallStatus") or "")
    at = _time(params.get("Timestamp"))
    final = status in FINAL_STATUSES
    error = params.get("ErrorMessage") or (
        f"Twilio error {params.get('ErrorCode')}" if params.get("ErrorCode") else None
    )
    return Report(
        sid=params.get("CallSid"),
        status=status,
        at=at,
        answered_by=params.get("AnsweredBy"),
        duration=_int(params.get("CallDuration")) if final else None,
        answered_time=at if status == "in_progress" else None,
        ended_time=at if final else None,
        recording_url=params.get("RecordingUrl"),
        error=error if status == "failed" else None,
    )


def report_of_resource(call: Mapping[str, Any]) -> Report:
    """A call as Twilio's REST API shows it (``GET .../Calls/{Sid}.json``)."""
    status = STATUSES.get(str(call.get("status") or ""))
    price = call.get("price")
    cost = None
    if price not in (None, ""):
        try:
            cost = f"{abs(float(str(price))):.4f}".rstrip("0").rstrip(".")
        except ValueError:
            cost = None
    return Report(
        sid=call.get("sid"),
        status=status,
        answered_by=call.get("answered_by"),
        duration=_int(call.get("duration")) if status in FINAL_STATUSES else None,
        answered_time=_time(call.get("start_time")) if status != "initiated" else None,
        ended_time=_time(call.get("end_time")) if status in FINAL_STATUSES else None,
        cost=cost,
        currency=str(call["price_unit"]).upper() if cost and call.get("price_unit") else None,
    )


def twiml(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def say(text: str, language: str, voice: str) -> str:
    attributes = f" language={quoteattr(language)}"
    if voice and voice != "default":
        attributes += f" voice={quoteattr(voice)}"
    return f"<Say{attributes}>{escape(text)}</Say>"


class TwilioVoice(HostedCalls):
    name = "twilio"
    title = "Twilio"
    # Twilio places a second call for a repeated request; this adapter looks an interrupted
    # attempt up instead (see the module's text), and the call's id is written as soon as known.
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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            sessionmaker,
            clock,
            accounts,
            read_sessionmaker=read_sessionmaker,
            timeout=timeout,
            poll_seconds=poll_seconds,
        )
        self._public_url = public_url.rstrip("/")
        self._transport = transport
        # The final calls whose price was read.
        self._priced: set[str] = set()

    # --- URLs ---

    def hook_url(self, call_id: str, kind: str) -> str:
        return f"{self._public_url}/hooks/twilio/calls/{call_id}/{kind}"

    def _api(self, account: ProviderAccount, path: str) -> str:
        return f"{account.api_base}/{API_VERSION}/Accounts/{account['account_sid']}/{path}"

    async def _request(
        self, account: ProviderAccount, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        auth = (account["account_sid"], account["auth_token"])
        async with httpx.AsyncClient(
            auth=auth, timeout=self._timeout, transport=self._transport
        ) as http:
            return await http.request(method, url, **kwargs)

    # --- The port ---

    async def start_call(self, request: CallRequest) -> str:
        account_id = request.metadata.get("account_id", "")
        call_id = request.metadata.get("call_id", "")
        account = await self._account(account_id)
        if not request.from_number:
            raise VoiceProviderError("a Twilio call needs the agent's from_number", retryable=False)
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
        if not written:
            # This attempt was dialled before (by a worker that died, or a request that
            # timed out): find its call rather than ring the debtor twice.
            found = await self._reconcile(account, request.idempotency_key)
            if found is not None:
                log.info("twilio.call.found", call_id=call_id, provider_call_id=found)
                return found
        return await self._dial(account, request, call_id)

    async def _dial(self, account: ProviderAccount, request: CallRequest, call_id: str) -> str:
        form: dict[str, Any] = {
            "To": request.to_number,
            "From": request.from_number,
            "Url": self.hook_url(call_id, "twiml"),
            "Method": "POST",
            "StatusCallback": self.hook_url(call_id, "status"),
            "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
            "MachineDetection": "DetectMessageEnd",
            "Record": "true",
            "RecordingStatusCallback": self.hook_url(call_id, "recording"),
            "RecordingStatusCallbackEvent": "completed",
            "Timeout": str(RING_SECONDS),
            "TimeLimit": str(request.max_duration),
        }
        try:
            response = await self._request(
                account, "POST", self._api(account, "Calls.json"), data=form
            )
        except httpx.TimeoutException as exc:
            # Twilio may have placed the call and we did not hear it: look before anything else.
            log.warning("twilio.call.start_timeout", call_id=call_id, error=type(exc).__name__)
            return await self._after_unclear_start(account, request, call_id)
        except httpx.HTTPError as exc:
            if isinstance(exc, httpx.ConnectError):
                raise VoiceProviderError(f"Twilio is unreachable: {exc}") from None
            log.warning("twilio.call.start_unclear", call_id=call_id, error=type(exc).__name__)
            return await self._after_unclear_start(account, request, call_id)
        if response.status_code == 201:
            sid = str(response.json().get("sid") or "")
            if not sid:
                raise VoiceProviderError("Twilio answered without a call sid")
            await self._record_sid(request.idempotency_key, sid)
            log.info("twilio.call.placed", call_id=call_id, provider_call_id=sid)
            return sid
        if response.status_code >= 500:
            log.warning("twilio.call.start_unclear", call_id=call_id, status=response.status_code)
            return await self._after_unclear_start(account, request, call_id)
        raise VoiceProviderError(
            f"Twilio refused the call: {_twilio_message(response)}",
            retryable=response.status_code == 429,
        )

    async def _after_unclear_start(
        self, account: ProviderAccount, request: CallRequest, call_id: str
    ) -> str:
        """The dial request may or may not have reached Twilio: look for its call for a while
        (Twilio may still be placing it; its first callback names it) before saying it was
        not placed."""
        for wait in (0.0, *LOOK_AGAIN):
            await asyncio.sleep(wait * self._timeout)
            found = await self._reconcile(account, request.idempotency_key)
            if found is not None:
                log.info("twilio.call.found", call_id=call_id, provider_call_id=found)
                return found
        raise VoiceProviderError("Twilio did not confirm the call, and has none to this number")

    async def _record_sid(self, key: str, sid: str) -> None:
        async with self._sessionmaker() as session:
            row = await repository.by_key(session, key, lock=True)
            if row is not None:
                merge(row, Report(sid=sid), self._clock.now())
            await session.commit()

    async def _reconcile(self, account: ProviderAccount, key: str) -> str | None:
        """The Twilio call of an attempt whose dial went unanswered: named by a callback, or
        listed by Twilio (to the same number, from the same caller id, created since the
        attempt's row and not another attempt's)."""
        async with self._read_sessionmaker() as session:
            row = await repository.by_key(session, key)
        if row is None:
            return None
        if row.provider_call_id:
            return row.provider_call_id
        try:
            response = await self._request(
                account,
                "GET",
                self._api(account, "Calls.json"),
                params={"To": row.to_number, "From": row.from_number or "", "PageSize": "50"},
            )
        except httpx.HTTPError as exc:
            raise VoiceProviderError(f"Twilio's call list is unreachable: {exc}") from None
        if response.status_code != 200:
            raise VoiceProviderError(
                f"Twilio's call list answered {response.status_code}: {_twilio_message(response)}"
            )
        since = row.dial_time - CLOCK_SKEW
        listed: list[tuple[datetime, str]] = []
        for call in response.json().get("calls") or []:
            created = _time(call.get("date_created"))
            sid = call.get("sid")
            if sid and created is not None and created >= since:
                listed.append((created, str(sid)))
        if not listed:
            return None
        async with self._read_sessionmaker() as session:
            taken = await repository.claimed_ids(
                session, self.name, [sid for _, sid in listed], besides=key
            )
        free = sorted(item for item in listed if item[1] not in taken)
        if not free:
            return None
        sid = free[0][1]
        await self._record_sid(key, sid)
        # A callback may have named the call meanwhile: the row's word is the one kept.
        return await self._known_sid(key) or sid

    def _final(self, row: CallRow) -> bool:
        return status_of(row) in FINAL_STATUSES

    def _wants_poll(self, row: CallRow, provider_call_id: str) -> bool:
        """Also once for a final call, for its price and duration (Twilio's resource has
        them, its final callback may not)."""
        if self._final(row) and provider_call_id not in self._priced:
            self._priced.add(provider_call_id)
            return True
        return super()._wants_poll(row, provider_call_id)

    def _shown(self, row: CallRow) -> ProviderCall:
        return view(row)

    async def _poll(self, row: CallRow) -> CallRow | None:
        """Read the call from Twilio's API and merge it (callbacks stopped coming, or the
        final call's price and duration). None when Twilio could not be read."""
        sid = row.provider_call_id or ""
        try:
            account = await self._account(row.account_id)
            response = await self._request(account, "GET", self._api(account, f"Calls/{sid}.json"))
        except (httpx.HTTPError, VoiceProviderError) as exc:
            log.warning("twilio.call.poll_failed", provider_call_id=sid, error=str(exc)[:200])
            return None
        if response.status_code != 200:
            log.warning(
                "twilio.call.poll_failed", provider_call_id=sid, status=response.status_code
            )
            return None
        report = report_of_resource(response.json())
        async with self._sessionmaker() as session:
            current = await repository.by_key(session, row.idempotency_key, lock=True)
            if current is None:
                return None
            merge(current, report, self._clock.now())
            await session.commit()
            return current

    async def cancel_call(self, provider_call_id: str) -> None:
        row = await self._reading.submit(provider_call_id)
        if row is None or status_of(row) in FINAL_STATUSES:
            return
        # A call not answered yet is cancelled; one in progress is hung up.
        status = "completed" if row.reported == "in_progress" else "canceled"
        try:
            account = await self._account(row.account_id)
            response = await self._request(
                account,
                "POST",
                self._api(account, f"Calls/{provider_call_id}.json"),
                data={"Status": status},
            )
        except (httpx.HTTPError, VoiceProviderError) as exc:
            log.warning(
                "twilio.call.cancel_failed", provider_call_id=provider_call_id, error=str(exc)[:200]
            )
            return
        if response.status_code >= 400:
            log.warning(
                "twilio.call.cancel_refused",
                provider_call_id=provider_call_id,
                status=response.status_code,
                error=_twilio_message(response),
            )

    def recording_on_request(self, result: ProviderCall) -> str | None:
        """Twilio keeps recordings until they are deleted: fetched when first asked for."""
        if result.status in ("completed", "voicemail") and result.answered_time is not None:
            return "wav"
        return None

    async def fetch_recording(self, provider_call_id: str) -> Recording | None:
        row = await self._reading.submit(provider_call_id)
        if row is None:
            return None
        try:
            account = await self._account(row.account_id)
            if row.recording_url:
                # The path of the URL Twilio gave, on the configured API base.
                url = f"{account.api_base}{urlsplit(row.recording_url).path}"
            else:
                listed = await self._request(
                    account, "GET", self._api(account, f"Calls/{provider_call_id}/Recordings.json")
                )
                recordings = (
                    listed.json().get("recordings") or [] if listed.status_code == 200 else []
                )
                if not recordings:
                    return None
                url = self._api(account, f"Recordings/{recordings[0]['sid']}")
            url = url.removesuffix(".json").removesuffix(".wav") + ".wav"
            response = await self._request(account, "GET", url)
        except httpx.HTTPError as exc:
            raise VoiceProviderError(f"Twilio's recording is unreachable: {exc}") from None
        if response.status_code != 200:
            return None
        return Recording(response.content, "wav")

    # --- Callbacks (``/hooks/twilio/calls/{call_id}/...``) ---

    async def verified(self, call_id: str, url: str, params: Params, signature: str) -> CallRow:
        """The call's row, once the request is shown to be Twilio's for its account."""
        async with self._read_sessionmaker() as session:
            row = await repository.by_call_id(session, self.name, call_id)
        if row is None:
            raise CallbackUnknown(call_id)
        account = await self._accounts(row.account_id)
        if account is None:
            raise CallbackRefused("the account has no Twilio settings")
        if not signature or not RequestValidator(account["auth_token"]).validate(
            url, params, signature
        ):
            raise CallbackRefused("the signature does not match")
        if params.get("AccountSid") != account["account_sid"]:
            raise CallbackRefused("another Twilio account's call")
        sid = params.get("CallSid")
        if row.provider_call_id and sid and sid != row.provider_call_id:
            raise CallbackRefused("another call of the same account")
        return row

    async def apply(self, row: CallRow, report: Report) -> None:
        """Merge a report into the call's row. ``row`` was just read: a report that changes
        nothing there changes nothing in any later state either (a merge only moves forward),
        so a repeated or late callback costs no write transaction."""
        if not merge(row, report, self._clock.now()):
            return
        async with self._sessionmaker() as session:
            current = await repository.by_key(session, row.idempotency_key, lock=True)
            if current is not None and merge(current, report, self._clock.now()):
                await session.commit()

    async def on_status(self, call_id: str, url: str, params: Params, signature: str) -> None:
        row = await self.verified(call_id, url, params, signature)
        await self.apply(row, report_of_callback(params))

    async def on_recording(self, call_id: str, url: str, params: Params, signature: str) -> None:
        row = await self.verified(call_id, url, params, signature)
        if params.get("RecordingStatus") in (None, "completed") and params.get("RecordingUrl"):
            await self.apply(row, Report(recording_url=params.get("RecordingUrl")))

    async def on_answer(self, call_id: str, url: str, params: Params, signature: str) -> str:
        """What the answered call plays: the message on a machine, else the script and menu
        (or, for a conversation agent, our own agent on a relay socket)."""
        row = await self.verified(call_id, url, params, signature)
        answered_by = params.get("AnsweredBy")
        await self.apply(
            row,
            Report(
                sid=params.get("CallSid"),
                status="in_progress",
                answered_by=answered_by,
                answered_time=self._clock.now(),
            ),
        )
        words = wording(row.language)
        if machine(answered_by):
            return twiml(
                say(f"{row.script} {words.voicemail}", row.language, row.voice), "<Hangup/>"
            )
        if row.conversation is not None:
            account = await self._account(row.account_id)
            return self._relay(row, account["auth_token"])
        return self._menu(row, row.script)

    def _relay(self, row: CallRow, auth_token: str) -> str:
        """Our own agent on the line: ConversationRelay connects the call to our socket (the
        provider turns speech into ``prompt`` frames and our ``text`` frames into speech); the
        socket's token names this attempt, signed with the account's auth token."""
        token = sign_token(row.call_id, auth_token, self._clock.now())
        attributes = {
            "url": relay_url(self._public_url, token),
            "language": row.language,
            "interruptible": "true",
            "dtmfDetection": "true",
        }
        if row.voice and row.voice != "default":
            attributes["voice"] = row.voice
        relay = " ".join(f"{name}={quoteattr(value)}" for name, value in attributes.items())
        return twiml(f"<Connect><ConversationRelay {relay}/></Connect>")

    # --- Our own agent's relay socket (``credira.conversation.relay.RelayStore``) ---

    async def opened(self, call_id: str) -> RelayCall | None:
        """A conversation agent's call whose socket may open: its context and the account's
        credentials (which sign the token and the handshake)."""
        found = await self._relayable(call_id)
        if found is None:
            return None
        row, conversation, account = found
        return RelayCall(
            call_id=row.call_id,
            context=CallContext.from_json(conversation["context"]),
            auth_token=account["auth_token"],
            account_sid=account["account_sid"],
            provider_call_id=row.provider_call_id,
        )

    def _menu(self, row: CallRow, opening: str) -> str:
        words = wording(row.language)
        action = quoteattr(self.hook_url(row.call_id, "gather"))
        gather = (
            f'<Gather input="dtmf" numDigits="1" timeout="{GATHER_SECONDS}" '
            f'action={action} method="POST">'
            + say(f"{opening} {words.menu}".strip(), row.language, row.voice)
            + "</Gather>"
        )
        return twiml(gather, say(words.no_answer, row.language, row.voice), "<Hangup/>")

    async def on_gather(self, call_id: str, url: str, params: Params, signature: str) -> str:
        """The key the debtor pressed: its answer, or the menu again for another key."""
        row = await self.verified(call_id, url, params, signature)
        digit = (params.get("Digits") or "")[:1]
        words = wording(row.language)
        if digit not in KEYPAD:
            return self._menu(row, words.again)
        await self.apply(row, Report(sid=params.get("CallSid"), digits=digit))
        return twiml(say(words.thanks[digit], row.language, row.voice), "<Hangup/>")


def _twilio_message(response: httpx.Response) -> str:
    """Twilio's error (``{"code", "message", "more_info", "status"}``), briefly."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return f"{body.get('code', '')} {body['message']}".strip()[:300]
    return f"HTTP {response.status_code}"
