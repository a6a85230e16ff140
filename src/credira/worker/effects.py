"""What an answered call's outcome does to the invoice and its other callouts.

Each change goes through its object's life cycle (``invoice.state``, ``callout.state``,
``call.state``), which appends its event in the concluding transaction. That transaction holds
the invoice locked, then the concluded callout; the other callouts are locked after them, in id
order (``callout.repository``).
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from credira.call import rules
from credira.callout import repository as callout_repository
from credira.callout import state as callout_state
from credira.callout.policy import PRIORITY_RANK
from credira.invoice import state as invoice_state
from credira.invoice.state import InvoiceStatus
from credira.kit.ids import new_id
from credira.models import Callout, Invoice
from credira.plan import service as plan_service
from credira.suppression import repository as suppressions
from credira.transcript import Analysis


async def apply_outcome(
    session: AsyncSession,
    analysis: Analysis,
    *,
    callout: Callout,
    invoice: Invoice,
    call_id: str,
    zone: ZoneInfo,
    now: datetime,
    public_url: str,
) -> None:
    """Apply the outcome of ``callout``'s call ``call_id``; ``public_url`` is for the events of
    the calls it cancels."""
    outcome = analysis.outcome
    if outcome == "promise_to_pay" and analysis.promised_date is not None:
        # Other reminders wait until the promised day: chasing a debtor who just promised to
        # pay is both pointless and unfair.
        invoice_state.promised(session, invoice, analysis.promised_date, now)
        hold_until = datetime.combine(analysis.promised_date, time(0, 0), tzinfo=zone)
        # Its collection plan too (and goes on then if the promise is broken).
        plan_service.promise_pause(session, invoice, hold_until, now)
        for other in await callout_repository.scheduled_for_invoice(
            session, invoice.id, except_id=callout.id
        ):
            if other.run_at < hold_until:
                callout_state.reschedule(session, other, hold_until, rules.PROMISE_TO_PAY, now)
    elif outcome == "dispute":
        # An invoice already settled otherwise (void, say) keeps its status; its callouts
        # were cancelled when it was settled.
        if invoice_state.may_move(invoice.status, InvoiceStatus.DISPUTED):
            invoice_state.move(
                session,
                invoice,
                InvoiceStatus.DISPUTED,
                f"disputed by the debtor on call {call_id}",
                now,
            )
            plan_service.settled(session, invoice, now)
        await callout_repository.cancel_pending_for_invoice(
            session,
            invoice.account_id,
            invoice.id,
            "invoice disputed",
            now,
            public_url,
            except_id=callout.id,
        )
    elif outcome == "callback_requested" and analysis.callback_time is not None:
        callout_state.new(
            session,
            now,
            id=new_id("callout"),
            account_id=callout.account_id,
            invoice_id=callout.invoice_id,
            type="follow_up",
            priority=callout.priority,
            priority_rank=PRIORITY_RANK[callout.priority],
            scheduled_time=analysis.callback_time,
            contact_name=callout.contact_name,
            contact_email=callout.contact_email,
            contact_phone=callout.contact_phone,
            calls_enabled=True,
            emails_enabled=False,
            voice_agent_id=callout.voice_agent_id,
            metadata_={**callout.metadata_, "callback_requested_on": call_id},
            origin="callback",
            # The debtor asked for this call: Reg F's prior-consent exception applies to
            # the frequency and quiet-period rules (never to the calling window).
            consented=True,
        )
    elif outcome == "opt_out" and callout.contact_phone is not None:
        await suppressions.suppress(
            session,
            callout.account_id,
            "phone",
            callout.contact_phone,
            reason="the debtor asked not to be called again",
            source=call_id,
            now=now,
        )
