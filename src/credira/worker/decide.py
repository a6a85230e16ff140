"""Deciding a batch of claimed callouts: the calling rules checked at the moment of dialling,
the daily call cap counted, and each allowed attempt written ahead of its dial, all in one
transaction (``Deciding.batch``), for callouts about distinct invoices.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.account.settings import OutreachSettings
from credira.call import repository as calls
from credira.call import rules
from credira.call import state as call_state
from credira.call.script import render_script, script_variables
from credira.call.state import CallStatus
from credira.callout import state as callout_state
from credira.callout.state import CalloutStatus
from credira.caps import service as caps
from credira.channel.voice.port import CallRequest
from credira.conversation.context import request_extras
from credira.db.locked import write_locked
from credira.email import repository as email_rows
from credira.email_template.render import DEFAULT_LIMITS, Limits
from credira.invoice import repository as invoice_repository
from credira.invoice.schemas import SETTLED
from credira.kit.clock import Clock
from credira.kit.ids import new_id
from credira.models import Account, Call, Callout, Invoice, VoiceAgent
from credira.provider import repository as provider_repository
from credira.suppression import repository as suppressions
from credira.worker import repository
from credira.worker.calls import insert_attempts
from credira.worker.email_part import email_outcome, email_reached
from credira.worker.repository import Claimed

log = structlog.get_logger("credira.worker")


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


@dataclass
class Facts:
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
    async def load(cls, session: AsyncSession, batch: list[Claimed], clock: Clock) -> Facts:
        # Locking the invoices first serialises every decision about one debt, so two workers
        # can never both see "6 calls this week" and both dial.
        by_id = await invoice_repository.lock_all(
            session, (claimed.invoice_id for claimed in batch)
        )
        now = clock.now()
        callouts = await repository.lock_callouts(
            session, [claimed.callout_id for claimed in batch]
        )
        open_calls = await calls.open_attempts(session, list(callouts))
        agent_ids = {c.voice_agent_id for c in callouts.values() if c.voice_agent_id}
        agent_ids |= {call.voice_agent_id for call in open_calls.values() if call.voice_agent_id}
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
            agents=await repository.agents(session, agent_ids),
            accounts=await repository.accounts(session, {c.account_id for c in callouts.values()}),
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

_Held = list[tuple[str, str | None, datetime | None]]

PROVIDER_BUSY = "provider_busy"
PROVIDER_BUSY_WAIT = timedelta(seconds=2)
# A call dialled longer ago than this is not counted as in progress, whatever its row says
# (the longest call, 3600 s, and the follower's margin): a stuck row never blocks the account.
PROVIDER_OPEN_WINDOW = timedelta(hours=2)


class Deciding:
    """The deciding transactions of one worker."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        worker_id: str,
        *,
        render_limits: Limits = DEFAULT_LIMITS,
        public_url: str = "",
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.worker_id = worker_id
        self.render_limits = render_limits
        self.public_url = public_url

    async def batch(self, batch: list[Claimed]) -> list[Attempt | None]:
        """The decisions for a batch of claimed callouts, about distinct invoices, in one
        transaction: what each reads is read for all of them at once (``Facts``)."""
        async with self.sessionmaker() as session:
            facts = await Facts.load(session, batch, self.clock)
            held: _Held = []
            # The new attempts and changed callouts are written together at the commit (and the
            # cap counts taken meanwhile must not flush them one by one).
            with session.no_autoflush:
                ready = [await self._decide(session, facts, claimed, held) for claimed in batch]
                # The providers' limits (calls at once, per second), before the daily cap
                # counts the calls that may go.
                ready = await _within_provider_limits(session, ready, facts.now, held)
                # Cost guard: the daily call cap, counted last, for all of an account's calls
                # at once (the counts are held until the commit).
                wanted = Counter(r.callout.account_id for r in ready if r and r.counts)
                allowed = {
                    account_id: await caps.calls_allowed(session, account_id, facts.now, count)
                    for account_id, count in wanted.items()
                }
                new_calls: list[dict[str, Any]] = []
                attempts = [
                    self._write_ahead(session, r, allowed, new_calls) if r else None for r in ready
                ]
            await insert_attempts(session, new_calls, self.public_url, facts.now)
            await write_locked(session, facts.callouts.values())
            await session.commit()
        for callout_id, reason, until in held:
            log.info("callout.held", callout_id=callout_id, reason=reason, until=str(until))
        return attempts

    async def _decide(
        self, session: AsyncSession, facts: Facts, claimed: Claimed, held: _Held
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
            callout_state.finish(
                session, callout, CalloutStatus.CANCELLED, f"invoice {invoice.status}", now
            )
            if call is not None:
                self._end_call(
                    session, call, CallStatus.CANCELLED, f"invoice {invoice.status}", now
                )
            return None
        if call is None and not callout.calls_enabled:
            await _finish_email_only(session, callout, now)
            return None
        agent = facts.agent_for(callout, call)
        try:
            zones = rules.debtor_zones(None, invoice.customer_timezone, callout.contact_phone or "")
        except rules.UnknownTimeZone:
            # Nobody can say what time it is where this number rings: never call it.
            callout_state.finish(
                session,
                callout,
                CalloutStatus.FAILED,
                "no_calling_window: the number's time zone is unknown",
                now,
            )
            if call is not None and call.placed_time is None:
                self._end_call(
                    session, call, CallStatus.FAILED, "the number's time zone is unknown", now
                )
            return None
        account = facts.accounts.get(callout.account_id)
        dialled = call is not None and call.placed_time is not None
        if not dialled:
            # Nothing dialled yet: this is the moment the rules are checked.
            decision = (
                rules.Decision(False, None, "voice agent missing or inactive")
                if agent is None or agent.status != "active"
                else _check_rules(facts, callout, invoice, account, zones)
            )
            if not decision.allowed:
                if decision.not_before is None:
                    await finish_unreached(session, callout, decision.hold_reason, now)
                    if call is not None:
                        self._end_call(
                            session, call, CallStatus.FAILED, decision.hold_reason, now, end=True
                        )
                else:
                    callout_state.reschedule(
                        session, callout, decision.not_before, decision.hold_reason, now
                    )
                held.append((callout.id, decision.hold_reason, decision.not_before))
                return None
        if agent is None:
            return None
        return _Ready(callout, invoice, call, agent, account, zones, now, counts=not dialled)

    def _owns(self, callout: Callout) -> bool:
        return callout.status == "active" and callout.lease_owner == self.worker_id

    def _end_call(
        self,
        session: AsyncSession,
        call: Call,
        status: CallStatus,
        reason: str | None,
        now: datetime,
        *,
        end: bool = False,
    ) -> None:
        """An open attempt that was never dialled ends with its callout."""
        fields: dict[str, Any] = {"error": reason}
        if end:
            fields["end_time"] = now
        call_state.move(session, call, status, self.public_url, now, **fields)

    def _write_ahead(
        self,
        session: AsyncSession,
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
                callout_state.reschedule(
                    session, callout, caps.next_day_start(now), caps.DAILY_CALL_CAP, now
                )
                return None
            if left <= 0:
                # Undecided (the cap's count was busy elsewhere): due again at once, for the
                # next claim to decide.
                callout_state.reschedule(session, callout, callout.run_at, callout.hold_reason, now)
                return None
            allowed[callout.account_id] = (left - 1, capped)
            if call is None:
                row = _new_attempt(callout, agent, [z.key for z in ready.zones], now)
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
            metadata={
                "callout_id": callout.id,
                "call_id": dialled.id,
                "account_id": callout.account_id,
                **(_conversation_extras(ready) if agent.mode == "conversation" else {}),
            },
            variables=dict(variables),
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


def _conversation_extras(ready: _Ready) -> dict[str, str]:
    """What our own agent's dial request carries beside the script's variables: the amount
    and due date as values, the debtor's zone, the account's settlement policy."""
    return request_extras(
        amount=ready.invoice.amount,
        due_date=ready.invoice.due_date,
        zone=ready.zones[0].key,
        settings=ready.account.settings if ready.account else None,
        email=ready.callout.contact_email,
        history=_history(ready),
    )


def _history(ready: _Ready) -> list[str]:
    """What the agent is told of earlier contacts about the invoice."""
    history: list[str] = []
    if ready.invoice.promised_date is not None:
        history.append(f"The debtor promised to pay by {ready.invoice.promised_date.isoformat()}.")
    earlier = ready.callout.attempt_count - (1 if ready.counts else 0)
    if earlier > 0:
        history.append(f"{earlier} earlier call attempts for this reminder went unanswered.")
    if ready.callout.origin == "callback":
        history.append("The debtor asked to be called back at this time.")
    return history


async def _within_provider_limits(
    session: AsyncSession, ready: list[_Ready | None], now: datetime, held: _Held
) -> list[_Ready | None]:
    """The dials the account's provider limits let go now; the others wait a moment
    (``provider_busy``), no attempt spent. Nothing is read for providers without limits."""
    wanted = {
        (r.callout.account_id, r.agent.provider)
        for r in ready
        if r is not None and r.counts and r.agent.provider != "simulator"
    }
    limits = await provider_repository.limits_locked(session, wanted)
    if not limits:
        return ready
    load = await calls.provider_load(
        session,
        list(limits),
        open_since=now - PROVIDER_OPEN_WINDOW,
        started_since=now - timedelta(seconds=1),
    )
    kept: list[_Ready | None] = []
    for r in ready:
        key = (r.callout.account_id, r.agent.provider) if r is not None else None
        if r is None or not r.counts or key not in limits:
            kept.append(r)
            continue
        most, per_second = limits[key]
        in_progress, this_second = load[key]
        if most is not None and in_progress >= most:
            wait, reason = PROVIDER_BUSY_WAIT, f"{PROVIDER_BUSY}: {most} calls in progress"
        elif per_second is not None and this_second >= per_second:
            wait, reason = timedelta(seconds=1), f"{PROVIDER_BUSY}: {per_second} calls a second"
        else:
            load[key] = (in_progress + 1, this_second + 1)
            kept.append(r)
            continue
        callout_state.reschedule(session, r.callout, now + wait, reason, now)
        held.append((r.callout.id, reason, now + wait))
        kept.append(None)
    return kept


def _check_rules(
    facts: Facts,
    callout: Callout,
    invoice: Invoice,
    account: Account | None,
    zones: tuple[ZoneInfo, ...],
) -> rules.Decision:
    now = facts.now
    promised = rules.promise_hold(now, invoice.promised_date, zones[0])
    if promised is not None:
        return promised
    settings = OutreachSettings.from_json(account.settings if account else None)
    phone = callout.contact_phone or ""
    return rules.check_call(
        now,
        zones=zones,
        history=facts.histories[invoice.id],
        invoice_status=invoice.status,
        opted_out=(callout.account_id, phone) in facts.suppressed,
        holidays_in=rules.holiday_countries(phone) if settings.observe_holidays else (),
        consented=callout.consented,
    )


def _new_attempt(
    callout: Callout, agent: VoiceAgent, zone_names: list[str], now: datetime
) -> dict[str, Any]:
    """A new attempt's row in ``calls`` (by column)."""
    number = callout.attempt_count + 1
    return call_state.initiated_row(
        **{
            "id": new_id("call"),
            "account_id": callout.account_id,
            "invoice_id": callout.invoice_id,
            "callout_id": callout.id,
            "attempt_id": new_id("attempt"),
            "attempt_number": number,
            "idempotency_key": call_state.idempotency_key(callout.id, number),
            "provider": agent.provider,
            "provider_call_id": None,
            "voice_agent_id": agent.id,
            "from_number": agent.from_number,
            "to_number": callout.contact_phone or "",
            "timezone": zone_names[0] if zone_names else None,
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
    )


async def finish_unreached(
    session: AsyncSession, callout: Callout, reason: str | None, now: datetime
) -> None:
    """The call part cannot (or can no longer) reach the debtor: the callout still completes
    when its email did."""
    if callout.emails_enabled and await email_reached(session, callout.id):
        callout_state.finish(
            session,
            callout,
            CalloutStatus.COMPLETED,
            f"email delivered; no call: {reason}",
            now,
        )
    else:
        callout_state.finish(session, callout, CalloutStatus.FAILED, reason, now)


async def _finish_email_only(session: AsyncSession, callout: Callout, now: datetime) -> None:
    if not callout.emails_enabled:
        callout_state.finish(
            session, callout, CalloutStatus.FAILED, "neither calls nor emails are enabled", now
        )
        return
    email = await email_outcome(session, callout.id)
    if email is not None and email.status in email_rows.PENDING:
        # Deferred by the mail server or held by the weekly limit: try again then.
        callout_state.reschedule(
            session, callout, email.run_at, email.status_reason or "email_deferred", now
        )
    elif email is not None and email.status == "delivered":
        callout_state.finish(session, callout, CalloutStatus.COMPLETED, None, now)
    elif email is not None and email.status == "unconfirmed":
        # Most likely delivered; the email itself waits for reconciliation.
        callout_state.finish(
            session, callout, CalloutStatus.COMPLETED, "email delivery unconfirmed", now
        )
    else:
        reason = (email.status_reason if email else None) or callout.status_reason
        callout_state.finish(
            session, callout, CalloutStatus.FAILED, reason or "the email could not be sent", now
        )
