"""A callout's email part: render it from the account's template, deliver it under the email
contact rules, and tell the callout when it is done.

It runs before the call part, inside the same claimed run. A deferred email (a temporary SMTP
refusal, the weekly contact limit) stays pending and is retried by its callout's next run.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.callout.state import CalloutStatus
from credira.email import repository as emails
from credira.email import service as email_service
from credira.email.dispatch import ENDS_EMAIL_PART, EmailDispatcher
from credira.email_template.render import DEFAULT_LIMITS, Limits
from credira.errors import CrediraError
from credira.invoice import repository as invoice_repository
from credira.invoice.schemas import SETTLED
from credira.kit.clock import Clock
from credira.models import Callout, Email
from credira.worker import repository

log = structlog.get_logger("credira.worker")


class CalloutEmails:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        dispatcher: EmailDispatcher,
        worker_id: str,
        render_limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.dispatcher = dispatcher
        self.worker_id = worker_id
        self.render_limits = render_limits

    async def run(self, claimed: repository.Claimed) -> None:
        if not claimed.email_pending:
            # Emails off or the email part done when the callout was claimed (a change made
            # while it runs is seen by its next run).
            return
        email_id = await self._prepare(claimed)
        if email_id is None:
            return
        outcome = await self.dispatcher.deliver(email_id)
        if outcome.outcome in ENDS_EMAIL_PART:
            return  # the dispatcher marked the email part done with the outcome
        if outcome.outcome != "skipped":
            return  # deferred or held: still pending, retried by the callout's next run
        async with self.sessionmaker() as session:
            await repository.end_email_part(session, claimed.callout_id)
            await session.commit()

    async def _prepare(self, claimed: repository.Claimed) -> str | None:
        async with self.sessionmaker() as session:
            locked = await invoice_repository.lock_all(session, [claimed.invoice_id])
            invoice = locked.get(claimed.invoice_id)
            callout = await session.get(Callout, claimed.callout_id)
            if (
                callout is None
                or invoice is None
                or callout.status != CalloutStatus.ACTIVE
                or callout.lease_owner != self.worker_id
                or not callout.emails_enabled
                or callout.email_done
                or invoice.status in SETTLED
            ):
                return None
            pending = await emails.open_for_callout(session, callout.id)
            if pending is not None:
                return pending.id
            if await emails.ended_for_callout(session, callout.id):
                # Its email already reached its end (a worker stopped before it could say
                # so): never write a second one.
                callout.email_done = True
                await session.commit()
                return None
            if not callout.contact_email:
                callout.email_done = True
                await session.commit()
                return None
            try:
                email = await email_service.create_for_callout(
                    session, callout, invoice, self.clock.now(), self.render_limits
                )
            except CrediraError as exc:
                # No usable template, or it needs a variable the data cannot fill: the email
                # part cannot run; the reason stays on the callout.
                log.warning("callout.email.unrenderable", callout_id=callout.id, error=exc.message)
                await session.rollback()
                await repository.end_email_part(
                    session, claimed.callout_id, f"email not sent: {exc.message}"
                )
                await session.commit()
                return None
            await session.commit()
            return email.id


async def email_reached(session: AsyncSession, callout_id: str) -> bool:
    """Whether one of the callout's emails was accepted by the debtor's mail server."""
    return await emails.reached_for_callout(session, callout_id)


async def email_outcome(session: AsyncSession, callout_id: str) -> Email | None:
    """The callout's latest email, to explain how its email part ended or why it waits."""
    return await emails.latest_for_callout(session, callout_id)
