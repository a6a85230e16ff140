"""Running one claimed callout's call: decide under the rules, write the attempt ahead, dial
idempotently, follow the call to its end, then record the outcome and its effects.

Every step can be interrupted (a crash, a SIGKILL) and resumed by another worker: the attempt
row is committed before the provider is asked to dial, and the provider dedupes on the
attempt's idempotency key, so resuming never dials twice.
"""

from __future__ import annotations

import asyncio
import time as monotonic_time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from credira.account.settings import OutreachSettings
from credira.call import repository as calls
from credira.call import rules
from credira.call.script import render_script, script_variables
from credira.callout.policy import FINISHED
from credira.channel.voice.port import (
    FINAL_STATUSES,
    CallRequest,
    ProviderCall,
    VoiceProviderError,
)
from credira.channel.voice.registry import VoiceProviders
from credira.db.locked import write_locked
from credira.email import repository as email_rows
from credira.email_template.render import DEFAULT_LIMITS, Limits
from credira.invoice import repository as invoice_repository
from credira.invoice.schemas import SETTLED
from credira.kit.batch import GroupCommit
from credira.kit.clock import Clock
from credira.kit.files import write_atomically
from credira.kit.ids import new_id
from credira.models import Account, Call, Callout, Invoice, VoiceAgent
from credira.ratelimit import caps
from credira.suppression import repository as suppressions
from credira.transcript import Analysis, debtor_took_part
from credira.worker.classifier import Classifier
from credira.worker.effects import apply_outcome
from credira.worker.email_part import CalloutEmails, email_outcome, email_reached
from credira.worker.repository import Claimed

log = structlog.get_logger("credira.worker")


def _calls_table() -> Table:
    """``calls``, for the statements that write its rows without ORM objects."""
    table = Call.__table__
    assert isinstance(table, Table)
    return table


_CALLS = _calls_table()
_UPDATE_CALL = update(_CALLS).where(_CALLS.c.id == bindparam("call_id"))

FOLLOW_MARGIN = 120.0  # seconds past the agent's max_duration before a call is abandoned
MIN_LOOK_SECONDS = 0.001  # a call's status is never asked again sooner than this


@dataclass(frozen=True)
class Attempt:
    """What the dialling phase needs, read in the deciding transaction."""

    callout_id: str
    invoice_id: str
    call_id: str
    provider: str
    provider_call_id: str | None
    request: CallRequest
    zone: ZoneInfo
    max_duration: int


async def _lock_callouts(session: AsyncSession, callout_ids: list[str]) -> dict[str, Callout]:
    """The callouts, by id, locked after their invoices (the order every writer of both keeps),
    so that their changes can be written together at the end (``write_locked``)."""
    found = await session.scalars(
        select(Callout)
        .where(Callout.id.in_(sorted(callout_ids)))
        .order_by(Callout.id)
        # The lock an UPDATE takes (rows that refer to these keep their own locks).
        .with_for_update(key_share=True)
    )
    return {callout.id: callout for callout in found}


@dataclass
class _Facts:
    """What the decisions about a batch of claimed callouts read, read for all of them at once
    in a few queries, after the invoices are locked. The batch holds one callout per invoice,
    so no decision depends on another's writes."""

    now: datetime
    invoices: dict[str, Invoice]
    callouts: dict[str, Callout]
    open_calls: dict[str, Call]
    agents: dict[str, VoiceAgent]
    accounts: dict[str, Account]
    histories: dict[str, rules.CallHistory]
    suppressed: set[tuple[str, str]]

    @classmethod
    async def load(cls, session: AsyncSession, batch: list[Claimed], clock: Clock) -> _Facts:
        # Locking the invoices first serialises every decision about one debt, so two workers
        # can never both see "6 calls this week" and both dial.
        by_id = await invoice_repository.lock_all(
            session, (claimed.invoice_id for claimed in batch)
        )
        now = clock.now()
        callouts = await _lock_callouts(session, [claimed.callout_id for claimed in batch])
        open_calls = await calls.open_attempts(session, list(callouts))
        agent_ids = {c.voice_agent_id for c in callouts.values() if c.voice_agent_id}
        agent_ids |= {call.voice_agent_id for call in open_calls.values() if call.voice_agent_id}
        agents = await session.scalars(select(VoiceAgent).where(VoiceAgent.id.in_(agent_ids)))
        accounts = await session.scalars(
            select(Account).where(Account.id.in_({c.account_id for c in callouts.values()}))
        )
        # Only the callouts that may dial now need the rules' facts.
        deciding = [
            c
            for c in callouts.values()
            if c.id not in open_calls or open_calls[c.id].placed_time is None
        ]
        return cls(
            now=now,
            invoices=by_id,
            callouts=callouts,
            open_calls=open_calls,
            agents={agent.id: agent for agent in agents},
            accounts={account.id: account for account in accounts},
            histories=await calls.histories(
                session, sorted({c.invoice_id for c in deciding}), now - timedelta(days=8)
            ),
            suppressed=await suppressions.suppressed_among(
                session, "phone", {(c.account_id, c.contact_phone or "") for c in deciding}
            ),
        )

    def agent_for(self, callout: Callout, call: Call | None) -> VoiceAgent | None:
        """The open attempt's agent, else the callout's own (of its account only)."""
        if call is not None:
            return self.agents.get(call.voice_agent_id or "")
        agent = self.agents.get(callout.voice_agent_id or "")
        return agent if agent is not None and agent.account_id == callout.account_id else None


@dataclass(frozen=True)
class _Ready:
    """A callout the rules let dial now (or whose attempt was dialled before: ``counts``
    False), and what its attempt is made of."""

    callout: Callout
    invoice: Invoice
    call: Call | None
    agent: VoiceAgent
    account: Account | None
    zones: tuple[ZoneInfo, ...]
    now: datetime
    counts: bool


@dataclass(frozen=True)
class _Dialled:
    """What dialling an attempt takes from its row: a new one's, or an open one's."""

    id: str
    idempotency_key: str
    to_number: str
    from_number: str | None
    provider: str
    provider_call_id: str | None

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> _Dialled:
        return cls(*(row[name] for name in _DIALLED))

    @classmethod
    def of_call(cls, call: Call) -> _Dialled:
        return cls(*(getattr(call, name) for name in _DIALLED))


_DIALLED = tuple(_Dialled.__dataclass_fields__)  # the same names in the row and on a Call


class _Open(NamedTuple):
    """What concluding reads of a call's row."""

    id: str
    status: str
    from_number: str | None
    start_time: datetime | None
    recording_path: str | None


async def _write_calls(session: AsyncSession, rows: list[dict[str, object]]) -> None:
    """Changes of calls, each row a call's ``id`` and the columns it sets: one ``UPDATE`` (of
    many rows) per set of columns. A call deleted meanwhile (with its invoice) is no error:
    there is nothing to update."""
    same_columns: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for row in rows:
        same_columns.setdefault(tuple(sorted(row)), []).append(row)
    for group in same_columns.values():
        # The SET clause follows the group's parameters.
        params = [{"call_id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in group]
        await session.execute(_UPDATE_CALL, params)


@dataclass(frozen=True)
class _Ended:
    """A call that reached its final status, to be recorded with its effects."""

    attempt: Attempt
    result: ProviderCall
    analysis: Analysis | None
    recording: str | None
    call_only: bool = False


def _answered(result: ProviderCall) -> bool:
    """A conversation took place: the call completed with the debtor's side in it (read by
    the transcript parser, whatever the provider calls the debtor)."""
    return (
        result.status == "completed"
        and result.transcript is not None
        and debtor_took_part(result.transcript)
    )


def _finish(callout: Callout, status: str, reason: str | None, now: datetime) -> None:
    callout.status = status
    callout.status_reason = reason
    callout.completed_time = now
    callout.updated_time = max(now, callout.created_time)
    callout.lease_owner = None
    callout.lease_expires = None
    callout.hold_reason = None


def _reschedule(callout: Callout, at: datetime, reason: str | None, now: datetime) -> None:
    callout.status = "scheduled"
    callout.run_at = at
    callout.hold_reason = reason
    callout.updated_time = max(now, callout.created_time)
    callout.lease_owner = None
    callout.lease_expires = None


class Executor:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        voice: VoiceProviders,
        worker_id: str,
        *,
        read_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        emails: CalloutEmails | None = None,
        recordings_dir: Path | None = None,
        poll_seconds: float = 0.1,
        classifier: Classifier | None = None,
        batch_size: int = 100,
        render_limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.emails = emails
        self.render_limits = render_limits
        self.classifier = classifier or Classifier()
        self.recordings_dir = recordings_dir
        self.sessionmaker = sessionmaker
        self.read_sessionmaker = read_sessionmaker or sessionmaker
        self.clock = clock
        self.voice = voice
        self.worker_id = worker_id
        self.poll_seconds = poll_seconds
        # Decisions of concurrent callouts share transactions; two about one invoice never do.
        # Up to ``batch_size`` at once: when it is less than the callouts running, they go
        # through in several waves, one being decided while another is dialled or concluded.
        self._deciding = GroupCommit(
            self._decide_many, max_size=batch_size, key=lambda claimed: claimed.invoice_id
        )
        self._concluding = GroupCommit(
            self._conclude_many, max_size=batch_size, key=lambda e: e.attempt.invoice_id
        )
        self._checking = GroupCommit(self._statuses, max_size=batch_size)
        self._updating = GroupCommit(
            self._update_calls, max_size=batch_size, key=lambda row: row["id"]
        )

    async def close(self, within: float = 10.0) -> None:
        """Finish the decisions and conclusions being written (the callouts whose runs were
        cancelled and that were still waiting are left out of them)."""
        for group in (self._deciding, self._concluding, self._checking, self._updating):
            await group.close(within)
        await self.classifier.close(within)

    async def run(self, claimed: Claimed) -> None:
        bound = log.bind(callout_id=claimed.callout_id, worker_id=self.worker_id)
        if self.emails is not None:
            await self.emails.run(claimed)
        attempt = await self._deciding.submit(claimed)
        if attempt is None:
            return
        bound.info("callout.attempt.dialling", call_id=attempt.call_id)
        result = await self._dial_and_follow(attempt)
        await self._conclude(attempt, result)
        bound.info("callout.attempt.finished", call_id=attempt.call_id, status=result.status)

    # -- phase 1: decide under the rules and write the attempt ahead --------------------------

    async def _decide_many(self, batch: list[Claimed]) -> list[Attempt | None]:
        """The decisions for a batch of claimed callouts, about distinct invoices, in one
        transaction: what each reads is read for all of them at once (``_Facts``)."""
        async with self.sessionmaker() as session:
            facts = await _Facts.load(session, batch, self.clock)
            held: list[tuple[str, str | None, datetime | None]] = []
            # The new attempts and changed callouts are written together at the commit (and the
            # cap counts taken meanwhile must not flush them one by one).
            with session.no_autoflush:
                ready = [await self._decide(session, facts, claimed, held) for claimed in batch]
                # Cost guard: the daily call cap, counted last, for all of an account's calls
                # at once (the counts are held until the commit).
                wanted = Counter(r.callout.account_id for r in ready if r and r.counts)
                allowed = {
                    account_id: await caps.calls_allowed(session, account_id, facts.now, count)
                    for account_id, count in wanted.items()
                }
                new_calls: list[dict[str, Any]] = []
                attempts = [self._write_ahead(r, allowed, new_calls) if r else None for r in ready]
            if new_calls:
                # The batch's new attempts in one statement, as rows: no ORM object is made,
                # tracked and flushed for a row that this transaction only writes.
                await session.execute(insert(_CALLS), new_calls)
            await write_locked(session, facts.callouts.values())
            await session.commit()
        for callout_id, reason, until in held:
            log.info("callout.held", callout_id=callout_id, reason=reason, until=str(until))
        return attempts

    async def _decide(
        self,
        session: AsyncSession,
        facts: _Facts,
        claimed: Claimed,
        held: list[tuple[str, str | None, datetime | None]],
    ) -> _Ready | None:
        """Whether the callout may dial now (its attempt is written after the cap is counted),
        or what becomes of it instead."""
        invoice = facts.invoices.get(claimed.invoice_id)
        callout = facts.callouts.get(claimed.callout_id)
        if callout is None or invoice is None or not self._owns(callout):
            return None
        now = facts.now
        call = facts.open_calls.get(callout.id)
        if invoice.status in SETTLED and (call is None or call.placed_time is None):
            _finish(callout, "cancelled", f"invoice {invoice.status}", now)
            if call is not None:
                call.status = "cancelled"
                call.error = f"invoice {invoice.status}"
            return None
        if call is None and not callout.calls_enabled:
            await self._finish_email_only(session, callout, now)
            return None
        agent = facts.agent_for(callout, call)
        try:
            zones = self._zones(callout, invoice)
        except rules.UnknownTimeZone:
            # Nobody can say what time it is where this number rings: never call it.
            _finish(callout, "failed", "no_calling_window: the number's time zone is unknown", now)
            if call is not None and call.placed_time is None:
                call.status = "failed"
                call.error = "the number's time zone is unknown"
            return None
        account = facts.accounts.get(callout.account_id)
        dialled = call is not None and call.placed_time is not None
        if not dialled:
            # Nothing dialled yet: this is the moment the rules are checked.
            refusal = self._cannot_run(callout, agent)
            decision = (
                rules.Decision(False, None, refusal)
                if refusal
                else self._check_rules(facts, callout, invoice, account, zones)
            )
            if not decision.allowed:
                if decision.not_before is None:
                    await self._finish_unreached(session, callout, decision.hold_reason, now)
                    if call is not None:
                        call.status = "failed"
                        call.error = decision.hold_reason
                        call.end_time = now
                else:
                    _reschedule(callout, decision.not_before, decision.hold_reason, now)
                held.append((callout.id, decision.hold_reason, decision.not_before))
                return None
        if agent is None:
            return None
        return _Ready(callout, invoice, call, agent, account, zones, now, counts=not dialled)

    def _write_ahead(
        self,
        ready: _Ready,
        allowed: dict[str, tuple[int, bool]],
        new_calls: list[dict[str, Any]],
    ) -> Attempt | None:
        """The attempt written (a new one added to ``new_calls``), or the hold for the cap;
        and what dialling it needs."""
        callout, call, agent, now = ready.callout, ready.call, ready.agent, ready.now
        dialled = _Dialled.of_call(call) if call is not None else None
        if ready.counts:
            left, capped = allowed[callout.account_id]
            if left <= 0 and capped:
                _reschedule(callout, caps.next_day_start(now), caps.DAILY_CALL_CAP, now)
                return None
            if left <= 0:
                # Undecided (the cap's count was busy elsewhere): due again at once, for the
                # next claim to decide.
                _reschedule(callout, callout.run_at, callout.hold_reason, now)
                return None
            allowed[callout.account_id] = (left - 1, capped)
            if call is None:
                row = self._new_attempt(callout, agent, [z.key for z in ready.zones], now)
                new_calls.append(row)
                dialled = _Dialled.of_row(row)
                callout.attempt_count += 1
            else:
                call.placed_time = now
                call.updated_time = now
            callout.hold_reason = None
        assert dialled is not None  # an attempt that does not count was dialled before
        variables = script_variables(
            ready.invoice,
            agent,
            ready.account.name if ready.account else "",
            callout.contact_name,
            now.astimezone(ready.zones[0]).date(),
        )
        request = CallRequest(
            idempotency_key=dialled.idempotency_key,
            to_number=dialled.to_number,
            from_number=dialled.from_number,
            script=render_script(
                agent.script, variables, max_chars=self.render_limits.rendered_chars
            ),
            language=agent.language,
            voice=agent.voice,
            max_duration=agent.max_duration,
            metadata={"callout_id": callout.id, "call_id": dialled.id},
        )
        return Attempt(
            callout_id=callout.id,
            invoice_id=callout.invoice_id,
            call_id=dialled.id,
            provider=dialled.provider,
            provider_call_id=dialled.provider_call_id,
            request=request,
            zone=ready.zones[0],
            max_duration=agent.max_duration,
        )

    @staticmethod
    async def _finish_unreached(
        session: AsyncSession, callout: Callout, reason: str | None, now: datetime
    ) -> None:
        """The call part cannot (or can no longer) reach the debtor: the callout still
        completes when its email did."""
        if callout.emails_enabled and await email_reached(session, callout.id):
            _finish(callout, "completed", f"email delivered; no call: {reason}", now)
        else:
            _finish(callout, "failed", reason, now)

    async def _finish_email_only(
        self, session: AsyncSession, callout: Callout, now: datetime
    ) -> None:
        if not callout.emails_enabled:
            _finish(callout, "failed", "neither calls nor emails are enabled", now)
            return
        email = await email_outcome(session, callout.id)
        if email is not None and email.status in email_rows.PENDING:
            # Deferred by the mail server or held by the weekly limit: try again then.
            _reschedule(callout, email.run_at, email.status_reason or "email_deferred", now)
        elif email is not None and email.status == "delivered":
            _finish(callout, "completed", None, now)
        elif email is not None and email.status == "unconfirmed":
            # Most likely delivered; the email itself waits for reconciliation.
            _finish(callout, "completed", "email delivery unconfirmed", now)
        else:
            reason = (email.status_reason if email else None) or callout.status_reason
            _finish(callout, "failed", reason or "the email could not be sent", now)

    @staticmethod
    def _cannot_run(callout: Callout, agent: VoiceAgent | None) -> str | None:
        if agent is None or agent.status != "active":
            return "voice agent missing or inactive"
        return None

    def _owns(self, callout: Callout) -> bool:
        return callout.status == "active" and callout.lease_owner == self.worker_id

    @staticmethod
    def _zones(callout: Callout, invoice: Invoice) -> tuple[ZoneInfo, ...]:
        return rules.debtor_zones(None, invoice.customer_timezone, callout.contact_phone or "")

    @staticmethod
    def _check_rules(
        facts: _Facts,
        callout: Callout,
        invoice: Invoice,
        account: Account | None,
        zones: tuple[ZoneInfo, ...],
    ) -> rules.Decision:
        now = facts.now
        settings = OutreachSettings.from_json(account.settings if account else None)
        phone = callout.contact_phone or ""
        if invoice.promised_date is not None:
            local_today = now.astimezone(zones[0]).date()
            if local_today < invoice.promised_date:
                hold_until = datetime.combine(invoice.promised_date, datetime.min.time(), zones[0])
                return rules.Decision(False, hold_until, "promise_to_pay")
        return rules.check_call(
            now,
            zones=zones,
            history=facts.histories[invoice.id],
            invoice_status=invoice.status,
            opted_out=(callout.account_id, phone) in facts.suppressed,
            holidays_in=rules.holiday_countries(phone) if settings.observe_holidays else (),
            consented=callout.consented,
        )

    @staticmethod
    def _new_attempt(
        callout: Callout, agent: VoiceAgent, zone_names: list[str], now: datetime
    ) -> dict[str, Any]:
        """A new attempt's row in ``calls`` (by column)."""
        number = callout.attempt_count + 1
        return {
            "id": new_id("call"),
            "account_id": callout.account_id,
            "invoice_id": callout.invoice_id,
            "callout_id": callout.id,
            "attempt_id": new_id("attempt"),
            "attempt_number": number,
            "idempotency_key": f"{callout.id}:call:{number}",
            "provider": agent.provider,
            "provider_call_id": None,
            "voice_agent_id": agent.id,
            "from_number": agent.from_number,
            "to_number": callout.contact_phone or "",
            "timezone": zone_names[0] if zone_names else None,
            "status": "initiated",
            "call_type": "outbound",
            "call_purpose": callout.type,
            "customer_name": callout.contact_name,
            "scheduled_time": callout.run_at,
            "placed_time": now,
            "answered": False,
            "keywords": [],
            "tags": [callout.type.replace("_", "-")],
            "metadata": dict(callout.metadata_),
            "created_by": callout.created_by,
            "created_time": now,
            "updated_time": now,
        }

    # -- phases 2 and 3: dial once, follow the call to a final status -------------------------

    async def _dial_and_follow(self, attempt: Attempt) -> ProviderCall:
        try:
            provider = self.voice.get(attempt.provider)
        except VoiceProviderError as exc:
            return ProviderCall("", "failed", error=str(exc))
        provider_call_id = attempt.provider_call_id
        if provider_call_id is None:
            try:
                provider_call_id = await provider.start_call(attempt.request)
            except VoiceProviderError as exc:
                return ProviderCall("", "failed", error=str(exc))
            if not provider.dedupes:
                # A provider that dedupes on the idempotency key hands a resumed attempt the
                # same call back; the others need the id written before the call is followed.
                await self._update_call(attempt.call_id, provider_call_id=provider_call_id)
        deadline = monotonic_time.monotonic() + attempt.max_duration + FOLLOW_MARGIN
        last_status: str | None = None
        hung_up = False
        next_cancel_check = monotonic_time.monotonic() + 1.0
        while True:
            try:
                current = await provider.get_call(provider_call_id)
            except VoiceProviderError as exc:
                if not exc.retryable:
                    return ProviderCall(provider_call_id, "failed", error=str(exc))
                await asyncio.sleep(self.poll_seconds * 5)
                continue
            if current.status != last_status:
                last_status = current.status
                if current.final:
                    return current
                await self._update_call(
                    attempt.call_id, status=current.status, start_time=current.answered_time
                )
            now = monotonic_time.monotonic()
            if not hung_up and (now > deadline or now > next_cancel_check):
                next_cancel_check = now + 1.0
                if now > deadline or await self._cancelled(attempt.callout_id):
                    hung_up = True
                    await provider.cancel_call(provider_call_id)
            await asyncio.sleep(self._until_next_look(current))

    def _until_next_look(self, current: ProviderCall) -> float:
        """The next poll, or sooner when the provider says when the status changes next."""
        if current.changes_at is None:
            return self.poll_seconds
        due = (current.changes_at - self.clock.now()).total_seconds()
        return min(self.poll_seconds, max(MIN_LOOK_SECONDS, due))

    async def _update_call(self, call_id: str, **values: object) -> None:
        """Write what the provider said of a call in progress (its id, its status)."""
        changes = {k: v for k, v in values.items() if v is not None}
        await self._updating.submit({**changes, "id": call_id, "updated_time": self.clock.now()})

    async def _update_calls(self, batch: list[dict[str, object]]) -> list[None]:
        """The progress of the calls being followed, written together (one call per batch at
        most: its updates keep their order)."""
        async with self.sessionmaker() as session:
            await _write_calls(session, batch)
            await session.commit()
        return [None] * len(batch)

    async def _cancelled(self, callout_id: str) -> bool:
        return await self._checking.submit(callout_id) in FINISHED

    async def _statuses(self, callout_ids: list[str]) -> list[str | None]:
        """The statuses of the callouts whose calls are being followed, read together (each
        call asks about its callout every second)."""
        async with self.read_sessionmaker() as session:
            rows = await session.execute(
                select(Callout.id, Callout.status).where(Callout.id.in_(callout_ids))
            )
            found = {callout_id: status for callout_id, status in rows}
        return [found.get(callout_id) for callout_id in callout_ids]

    # -- phase 4: record the outcome and its effects -----------------------------------------

    async def _conclude(self, attempt: Attempt, result: ProviderCall) -> None:
        analysis = await self._analyse(attempt, result)
        recording = await self._keep_recording(attempt, result)
        try:
            await self._concluding.submit(_Ended(attempt, result, analysis, recording))
        except StaleDataError:
            # Someone changed the callout meanwhile (cancelled it, say): record the call only.
            log.info("callout.attempt.callout_changed", callout_id=attempt.callout_id)
            await self._concluding.submit(
                _Ended(attempt, result, analysis, recording, call_only=True)
            )

    async def _analyse(self, attempt: Attempt, result: ProviderCall) -> Analysis | None:
        if not _answered(result) or result.transcript is None:
            return None
        # Outside any transaction.
        return await self.classifier.classify(
            result.transcript, ended_at=result.ended_time or self.clock.now(), zone=attempt.zone
        )

    async def _keep_recording(self, attempt: Attempt, result: ProviderCall) -> str | None:
        """Where the call's recording is kept under the data dir, if the provider has one.

        A recording the provider keeps is fetched only when someone first asks for it (the API
        writes it to this path then): rendering or downloading every call's audio here would
        cost each call that time, for recordings nobody may ever play. Any other recording is
        fetched and stored now."""
        if self.recordings_dir is None or not result.provider_call_id or not result.transcript:
            return None
        try:
            provider = self.voice.get(attempt.provider)
            kept = provider.recording_on_request(result)
            if kept is not None:
                return str(self.recordings_dir / f"{attempt.call_id}.{kept}")
            recording = await provider.fetch_recording(result.provider_call_id)
        except VoiceProviderError as exc:
            log.warning("call.recording.unavailable", call_id=attempt.call_id, error=str(exc))
            return None
        if recording is None:
            return None
        path = self.recordings_dir / f"{attempt.call_id}.{recording.extension}"
        await asyncio.to_thread(write_atomically, path, recording.content)
        return str(path)

    async def _conclude_many(self, batch: list[_Ended]) -> list[None]:
        """Record a batch of ended calls (about distinct invoices) in one transaction."""
        async with self.sessionmaker() as session:
            held = await invoice_repository.lock_all(session, (e.attempt.invoice_id for e in batch))
            # What concluding reads of each call, as columns: the calls' changes are written as
            # rows (``_write_calls``), without ORM objects to load, track and flush.
            found = await session.execute(
                select(
                    Call.id, Call.status, Call.from_number, Call.start_time, Call.recording_path
                ).where(Call.id.in_([ended.attempt.call_id for ended in batch]))
            )
            calls_by_id = {row.id: _Open(*row) for row in found}
            callouts = await _lock_callouts(session, [e.attempt.callout_id for e in batch])
            changes: list[dict[str, object]] = []
            for ended in batch:
                call = calls_by_id.get(ended.attempt.call_id)
                if call is None or call.status in FINAL_STATUSES:
                    # Deleted with its invoice; or another worker (the one that took the
                    # callout over and followed the same call) concluded it first, effects
                    # included: never apply them twice.
                    continue
                changes.append(
                    await self._conclude_one(
                        session,
                        ended,
                        call,
                        held.get(ended.attempt.invoice_id),
                        callouts.get(ended.attempt.callout_id),
                    )
                )
            await _write_calls(session, changes)
            await write_locked(session, callouts.values())
            await session.commit()
        return [None] * len(batch)

    async def _conclude_one(
        self,
        session: AsyncSession,
        ended: _Ended,
        call: _Open,
        invoice: Invoice | None,
        callout: Callout | None,
    ) -> dict[str, object]:
        """The call's changes (its row's, by column), after the callout's and the invoice's."""
        attempt, result, analysis = ended.attempt, ended.result, ended.analysis
        now = self.clock.now()
        values = self._result_values(call, result, now)
        values["recording_path"] = ended.recording or call.recording_path
        if analysis is not None:
            values["outcome"] = analysis.outcome
            values["confidence_score"] = analysis.confidence_score
            values["sentiment_score"] = analysis.sentiment_score
            values["keywords"] = list(analysis.keywords)
            values["summary"] = analysis.summary
        # The call's result carries its effects whoever records it: a worker that lost its
        # lease mid-call (stalled, or cut off from the database) still concludes the
        # callout, unless the callout was finished meanwhile. The invoice lock taken above
        # orders this against the deciding transaction of any worker that took it over,
        # and that one resumes the open attempt rather than deciding afresh.
        if ended.call_only or callout is None or invoice is None or callout.status != "active":
            return values
        if analysis is not None:
            await apply_outcome(
                session,
                analysis,
                callout=callout,
                invoice=invoice,
                call_id=call.id,
                zone=attempt.zone,
                now=now,
            )
            if analysis.outcome == "wrong_party":
                _finish(callout, "failed", "wrong_party: the debtor was not reached", now)
            else:
                _finish(callout, "completed", None, now)
        else:
            account = await session.get(Account, callout.account_id)
            settings = OutreachSettings.from_json(account.settings if account else None)
            # A call requested through POST /calls is one attempt; callouts retry.
            limit = 1 if callout.origin == "call_request" else settings.max_call_attempts
            if callout.attempt_count < limit:
                retry_at = now + settings.retry_delay(callout.attempt_count)
                _reschedule(callout, retry_at, f"retry_after_{result.status}", now)
            else:
                await self._finish_unreached(
                    session,
                    callout,
                    f"{result.status} on all {callout.attempt_count} call attempts",
                    now,
                )
        return values

    @staticmethod
    def _result_values(call: _Open, result: ProviderCall, now: datetime) -> dict[str, object]:
        """What the provider's final word on a call sets in its row."""
        answered = _answered(result)
        values: dict[str, object] = {
            "id": call.id,
            "status": result.status,
            # The caller id the provider used, when the agent has no number of its own.
            "from_number": call.from_number or result.from_number,
            "start_time": result.answered_time or call.start_time,
            "end_time": result.ended_time or now,
            "duration": result.duration or 0,
            "transcript": result.transcript,
            "error": result.error,
            "answered": answered,
            "quality_score": 0.9 if answered else None,
            "updated_time": now,
        }
        if result.provider_call_id:
            values["provider_call_id"] = result.provider_call_id
        if result.cost is not None:
            values["cost"] = Decimal(result.cost)
            values["currency"] = result.currency
        if result.status == "voicemail":
            values["summary"] = "Reached voicemail; the agent left a message."
        elif not answered:
            values["summary"] = {
                "no_answer": "The call was not answered.",
                "busy": "The line was busy.",
                "failed": "The call could not be placed.",
                "cancelled": "The call was cancelled before it ended.",
            }.get(result.status)
        return values
