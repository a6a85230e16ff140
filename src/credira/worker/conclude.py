"""Concluding ended calls: the transcript classified and the recording kept (outside any
transaction: the rules' classification and, with an LLM set, the LLM's, whose answer wins when
it passes its checks), then, for a batch of calls about distinct invoices in one transaction
(``Concluding.batch``), each call's result written and its outcome's effects applied to the
callout and the invoice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.account.settings import OutreachSettings
from credira.call import repository as calls
from credira.call import state as call_state
from credira.callout import state as callout_state
from credira.callout.state import CalloutStatus
from credira.channel.voice.port import FINAL_STATUSES, ProviderCall, VoiceProviderError
from credira.channel.voice.registry import VoiceProviders
from credira.conversation.effects import email_payment_link
from credira.conversation.record import recorded_analysis
from credira.db.locked import write_locked
from credira.invoice import repository as invoice_repository
from credira.kit.clock import Clock
from credira.kit.files import write_atomically
from credira.llm.analysis import CallAnalyst, CallFacts, InvoiceFacts, to_analysis
from credira.models import Account, Callout, Invoice
from credira.transcript import Analysis, debtor_took_part
from credira.worker import policy, repository
from credira.worker.calls import write_changes
from credira.worker.classifier import Classifier
from credira.worker.decide import Attempt, finish_unreached
from credira.worker.effects import apply_outcome

log = structlog.get_logger("credira.worker")


@dataclass(frozen=True)
class Ended:
    """A call that reached its final status, to be recorded with its effects (``call_only``:
    the call alone, its callout having changed meanwhile)."""

    attempt: Attempt
    result: ProviderCall
    analysis: Analysis | None
    recording: str | None
    call_only: bool = False


def answered(result: ProviderCall) -> bool:
    """A conversation took place: the call completed with the debtor's side in it (read by
    the transcript parser, whatever the provider calls the debtor)."""
    return (
        result.status == "completed"
        and result.transcript is not None
        and debtor_took_part(result.transcript)
    )


class Concluding:
    """The concluding of one worker's calls."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        voice: VoiceProviders,
        *,
        classifier: Classifier,
        analyst: CallAnalyst | None = None,
        recordings_dir: Path | None = None,
        public_url: str = "",
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.voice = voice
        self.classifier = classifier
        self.analyst = analyst
        self.recordings_dir = recordings_dir
        self.public_url = public_url

    async def analyse(self, attempt: Attempt, result: ProviderCall) -> Analysis | None:
        """An answered call's analysis, outside any transaction: the LLM's when one is set and
        its answer passes the checks (``source="llm"``), the rules' otherwise."""
        if not answered(result) or result.transcript is None:
            return None
        ended_at = result.ended_time or self.clock.now()
        rules = self.classifier.classify(result.transcript, ended_at=ended_at, zone=attempt.zone)
        if self.analyst is None:
            analysis = await rules
        else:
            call = CallFacts(
                result.transcript,
                ended_at,
                attempt.zone,
                InvoiceFacts.from_variables(attempt.request.variables),
            )
            # The LLM's request has its own time limit (CallAnalyst); the rules' analysis, the
            # fallback, is made meanwhile.
            ruled, inferred = await asyncio.gather(rules, self.analyst.inferred(call))
            analysis = ruled if inferred is None else to_analysis(inferred, ruled, call)
        if result.conversation is not None:
            # What our own agent recorded through its tools wins over the transcript's reading.
            analysis = recorded_analysis(analysis, result.conversation)
        return analysis

    async def keep_recording(self, attempt: Attempt, result: ProviderCall) -> str | None:
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

    async def batch(self, batch: list[Ended]) -> list[None]:
        """Record a batch of ended calls (about distinct invoices) in one transaction."""
        async with self.sessionmaker() as session:
            held = await invoice_repository.lock_all(session, (e.attempt.invoice_id for e in batch))
            found = await calls.endings(session, [ended.attempt.call_id for ended in batch])
            callouts = await repository.lock_callouts(
                session, [e.attempt.callout_id for e in batch]
            )
            changes: list[dict[str, object]] = []
            for ended in batch:
                call = found.get(ended.attempt.call_id)
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
            await write_changes(session, changes, self.public_url, self.clock.now())
            await write_locked(session, callouts.values())
            await session.commit()
        return [None] * len(batch)

    async def _conclude_one(
        self,
        session: AsyncSession,
        ended: Ended,
        call: calls.Ending,
        invoice: Invoice | None,
        callout: Callout | None,
    ) -> dict[str, object]:
        """The call's changes (its row's, by column), after the callout's and the invoice's."""
        attempt, result, analysis = ended.attempt, ended.result, ended.analysis
        now = self.clock.now()
        values = result_values(call, result, now)
        values["recording_path"] = ended.recording or call.recording_path
        if result.conversation is not None:
            # The conversation turn by turn, with times and the tool calls between them: in
            # the call's detail and its events.
            values["metadata"] = {**call.metadata, "conversation": result.conversation}
        if analysis is not None:
            values["outcome"] = analysis.outcome
            values["confidence_score"] = analysis.confidence_score
            values["sentiment_score"] = analysis.sentiment_score
            values["keywords"] = list(analysis.keywords)
            values["summary"] = analysis.summary
            values["analysis_source"] = analysis.source
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
                public_url=self.public_url,
            )
            if result.conversation is not None and result.conversation.get("payment_link_sent"):
                # Our agent was asked for the payment link: it goes by email now.
                await email_payment_link(
                    session, callout=callout, invoice=invoice, call_id=call.id, now=now
                )
            if analysis.outcome == "wrong_party":
                callout_state.finish(
                    session,
                    callout,
                    CalloutStatus.FAILED,
                    "wrong_party: the debtor was not reached",
                    now,
                )
            else:
                callout_state.finish(session, callout, CalloutStatus.COMPLETED, None, now)
            return values
        account = await session.get(Account, callout.account_id)
        retry = policy.after_unanswered(
            status=result.status,
            origin=callout.origin,
            attempts_made=callout.attempt_count,
            settings=OutreachSettings.from_json(account.settings if account else None),
            now=now,
        )
        if retry.at is not None:
            callout_state.reschedule(session, callout, retry.at, retry.reason, now)
        else:
            await finish_unreached(session, callout, retry.reason, now)
        return values


def result_values(call: calls.Ending, result: ProviderCall, now: datetime) -> dict[str, object]:
    """What the provider's final word on a call sets in its row."""
    was_answered = answered(result)
    values: dict[str, object] = {
        "id": call.id,
        **call_state.final(call.status, result.status),
        # The caller id the provider used, when the agent has no number of its own.
        "from_number": call.from_number or result.from_number,
        "start_time": result.answered_time or call.start_time,
        "end_time": result.ended_time or now,
        "duration": result.duration or 0,
        "transcript": result.transcript,
        "error": result.error,
        "answered": was_answered,
        "quality_score": 0.9 if was_answered else None,
        "updated_time": now,
    }
    if result.provider_call_id:
        values["provider_call_id"] = result.provider_call_id
    if result.cost is not None:
        values["cost"] = Decimal(result.cost)
        values["currency"] = result.currency
    if policy.ends_unanswered(result.status, was_answered):
        values["summary"] = policy.summary(result.status)
    return values
