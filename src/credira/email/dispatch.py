"""Delivering one email: check the contact rules, mark it sent, hand it to the mail server,
record what the server said.

The row (with its Message-ID) exists before the server is contacted. A temporary refusal means
the server did not take the message, so a later attempt re-sends the same message; a permanent
refusal is a bounce, kept with the server's reply.

An attempt goes ``sending`` in the transaction that checks the rules (it counts as a contact
from then on), and ``sent`` at the sender's point of no return: the hand-over callback, which
the SMTP adapter runs once the server accepted sender and recipient, just before DATA. An
attempt found still ``sending`` by the next one never reached that point, so the message is
sent again. One found ``sent`` is ambiguous: the worker stopped (or lost the database) after the
message may have gone and before its reply was recorded. SMTP has no way to ask, and a
receiving server does not dedupe on Message-ID, so unless the sender dedupes (the outbox) it is
never re-sent blindly: it goes to ``unconfirmed``, which counts as a contact, ends its callout's
email part, and waits for ``POST /v1/emails/{id}/reconcile``.

Each attempt carries its number (``attempt_count``); the hand-over and the recording of the
outcome only touch the row while it is still that attempt's, so a worker that stalled past its
lease can neither hand over nor overwrite what the attempt that took over did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.account.settings import OutreachSettings
from credira.callout import repository as callout_repository
from credira.callout.state import CalloutStatus
from credira.caps import service as caps
from credira.channel.email.port import EmailSender, HandOverRefused, OutgoingEmail, SendResult
from credira.config import Settings
from credira.email import repository, state, tracking
from credira.email.state import EmailStatus
from credira.invoice import repository as invoice_repository
from credira.invoice.schemas import SETTLED
from credira.kit.clock import Clock
from credira.models import Account, Email, Invoice
from credira.secret.service import signing_key
from credira.suppression import repository as suppressions

log = structlog.get_logger("credira.email")

MAX_ATTEMPTS = 5
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
WEEK = timedelta(days=7)

Delivery = Literal[
    "delivered", "bounced", "deferred", "failed", "held", "cancelled", "skipped", "unconfirmed"
]
# Outcomes after which a callout's email part is over (the rest wait, or were never this
# attempt's to decide).
ENDS_EMAIL_PART: frozenset[str] = frozenset(
    {"delivered", "bounced", "failed", "cancelled", "unconfirmed"}
)
UNCONFIRMED_REASON = (
    "delivery unconfirmed: the mail server may have accepted this email, but the worker "
    "sending it stopped before recording the reply. It is not sent again on its own; "
    "resolve it with POST /v1/emails/{id}/reconcile"
)


@dataclass(frozen=True)
class DeliveryResult:
    outcome: Delivery
    reason: str | None = None
    retry_at: datetime | None = None


@dataclass
class Links:
    """What outgoing mail needs to build its links; the signing key is loaded on first use."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    _key: bytes = b""

    @property
    def public_url(self) -> str:
        return self.settings.public_url

    @property
    def from_address(self) -> str:
        return self.settings.email_from

    async def key(self) -> bytes:
        if not self._key:
            self._key = await signing_key(self.settings, self.sessionmaker)
        return self._key


async def check_rules(
    session: AsyncSession, email: Email, invoice: Invoice | None, now: datetime
) -> DeliveryResult | None:
    """Why this email must not go out now (or at all), or None when it may."""
    if invoice is not None and invoice.status in SETTLED:
        return DeliveryResult("cancelled", f"invoice {invoice.status}")
    if email.origin == "callout" and email.callout_id is not None:
        status = await repository.callout_status(session, email.callout_id)
        if status == CalloutStatus.CANCELLED:
            return DeliveryResult("cancelled", "callout cancelled")
    if await suppressions.is_suppressed(session, email.account_id, "email", email.recipient_email):
        return DeliveryResult("failed", "unsubscribed: the recipient opted out of email")
    if invoice is not None:
        account = await session.get(Account, email.account_id)
        limit = OutreachSettings.from_json(account.settings if account else None).weekly_contacts
        since = now - WEEK
        if await repository.contacts_since(session, invoice.id, since) >= limit:
            oldest = await repository.oldest_contact_since(session, invoice.id, since)
            retry_at = (oldest or now) + WEEK
            return DeliveryResult("held", "weekly_contact_limit", retry_at=retry_at)
    return None


class EmailDispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        sender: EmailSender,
        links: Links,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.sender = sender
        self.links = links

    async def deliver(self, email_id: str) -> DeliveryResult:
        begun = await self._begin(email_id)
        if isinstance(begun, DeliveryResult):
            return begun
        message, attempt = begun

        async def hand_over() -> None:
            await self._hand_over(email_id, attempt)

        try:
            result = await self.sender.send(message, hand_over=hand_over)
        except Exception as exc:  # an adapter bug must not lose the email: retry it later
            log.exception("email.send_crashed", email_id=email_id)
            result = SendResult("temporary_failure", f"sender error: {exc}"[:500])
        return await self._record(email_id, attempt, result)

    async def _hand_over(self, email_id: str, attempt: int) -> None:
        """The point of no return: from here the message may be delivered. One conditional
        UPDATE, so that only the attempt still owning the email can let it go."""
        async with self.sessionmaker() as session:
            now = self.clock.now()
            email = await repository.update_attempt(
                session,
                email_id,
                attempt=attempt,
                status=state.HAND_OVER_FROM,
                values=state.hand_over_values(now),
            )
            if email is not None:
                state.handed_over(session, email, now)
            await session.commit()
        if email is None:
            raise HandOverRefused("another attempt took this email over")

    async def _begin(self, email_id: str) -> tuple[OutgoingEmail, int] | DeliveryResult:
        # Loaded before the transaction: the first load may write the key in a session of its
        # own, which on SQLite would wait on this transaction's write lock until it times out.
        key = await self.links.key()
        async with self.sessionmaker() as session:
            email = await session.get(Email, email_id)
            if email is None or email.status not in state.PENDING:
                return DeliveryResult("skipped")
            now = self.clock.now()
            if email.status == EmailStatus.SENT and not self.sender.dedupes:
                state.unconfirmed(session, email, UNCONFIRMED_REASON, now)
                await _end_email_part(session, email)
                await session.commit()
                log.warning("email.unconfirmed", email_id=email_id)
                return DeliveryResult("unconfirmed", UNCONFIRMED_REASON)
            invoice = None
            if email.invoice_id is not None:
                invoice = await invoice_repository.lock(session, email.invoice_id)
            refusal = await check_rules(session, email, invoice, now)
            if refusal is None:
                # Cost guard: the account's daily email cap, checked last (it locks the
                # account until this transaction commits).
                cap_hold = await caps.email_cap_hold(session, email.account_id, email.id, now)
                if cap_hold is not None:
                    refusal = DeliveryResult("held", caps.DAILY_EMAIL_CAP, retry_at=cap_hold)
            if refusal is not None:
                reason = refusal.reason or refusal.outcome
                if refusal.outcome == "held" and refusal.retry_at is not None:
                    state.reschedule(session, email, refusal.retry_at, reason, now)
                else:
                    if refusal.outcome == "cancelled":
                        state.cancel(session, email, reason, now)
                    else:
                        state.fail(session, email, reason, now)
                    await _end_email_part(session, email)
                await session.commit()
                return refusal
            attempt = state.attempt(session, email, now)
            message = self._message(email, key)
            await session.commit()
            return message, attempt

    def _message(self, email: Email, key: bytes) -> OutgoingEmail:
        links = self.links
        unsubscribe = tracking.unsubscribe_url(links.public_url, email.tracking_id, key)
        return OutgoingEmail(
            message_id=email.message_id,
            from_address=links.from_address,
            to_address=email.recipient_email,
            to_name=email.recipient_name,
            subject=email.subject,
            text=tracking.decorate_text(email.text_body, unsubscribe=unsubscribe),
            html=tracking.decorate_html(
                email.html_body,
                public_url=links.public_url,
                tracking_id=email.tracking_id,
                key=key,
            ),
            headers=tracking.list_unsubscribe_headers(links.public_url, email.tracking_id, key),
        )

    async def _record(self, email_id: str, attempt: int, result: SendResult) -> DeliveryResult:
        async with self.sessionmaker() as session:
            email = await session.get(Email, email_id)
            if (
                email is None
                or email.attempt_count != attempt
                or email.status not in (*state.IN_FLIGHT, EmailStatus.UNCONFIRMED)
            ):
                # Another attempt took it over (this worker stalled past its lease), or it
                # was reconciled meanwhile: theirs is the say.
                return DeliveryResult("skipped")
            now = self.clock.now()
            email.smtp_reply = (result.reply or "")[:1000] or None
            outcome: DeliveryResult
            if result.status == "delivered":
                state.delivered(session, email, now)
                outcome = DeliveryResult("delivered")
            elif result.status == "permanent_failure":
                state.bounced(session, email, now)
                outcome = DeliveryResult("bounced", result.reply)
            elif email.attempt_count < MAX_ATTEMPTS:
                delay = RETRY_DELAYS[min(email.attempt_count, len(RETRY_DELAYS)) - 1]
                reason = f"deferred: {result.reply or 'temporary failure'}"[:1000]
                state.reschedule(session, email, now + delay, reason, now)
                outcome = DeliveryResult("deferred", result.reply, retry_at=email.run_at)
            else:
                reason = (
                    f"temporary failures on all {email.attempt_count} attempts: {result.reply}"
                )[:1000]
                state.fail(session, email, reason, now)
                outcome = DeliveryResult("failed", result.reply)
            if outcome.outcome in ENDS_EMAIL_PART:
                await _end_email_part(session, email)
            await session.commit()
            log.info("email.attempt.finished", email_id=email_id, outcome=outcome.outcome)
            return outcome


async def _end_email_part(session: AsyncSession, email: Email) -> None:
    """A callout's email reached its end: mark its callout's email part done in the same
    transaction, so that no worker taking the callout over finds it undone and writes a
    second email."""
    if email.origin != "callout" or email.callout_id is None:
        return
    await callout_repository.set_email_done(session, email.callout_id, True)
