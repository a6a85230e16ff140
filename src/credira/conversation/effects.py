"""What a conversation's tools do beyond its outcome: the payment link the debtor asked for,
emailed as every email is (the account's payment-reminder template rendered with the
invoice, the recipient's unsubscribe honoured, nothing about a settled invoice), in the
transaction that concludes the call; the email worker sends it at once."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth.principal import Principal
from credira.email import service as emails
from credira.email.schemas import SendEmailCreate
from credira.email_template import repository as templates
from credira.errors import CrediraError
from credira.models import Callout, Invoice

log = structlog.get_logger("credira.conversation")


async def email_payment_link(
    session: AsyncSession, *, callout: Callout, invoice: Invoice, call_id: str, now: datetime
) -> str | None:
    """The email's id, or None when it may not or cannot be sent (no address, no template,
    an unsubscribed address, an invoice no longer open): the call's record still says it was
    asked for."""
    if not callout.contact_email:
        return None
    try:
        template = await templates.pick_template(
            session, callout.account_id, None, "payment_reminder"
        )
        body = SendEmailCreate.model_validate(
            {
                "template_id": template.id,
                "recipient_email": callout.contact_email,
                "callout_id": callout.id,
                "metadata": {"requested_on_call": call_id},
            }
        )
        sender = Principal(callout.account_id, callout.created_by, frozenset())
        email = await emails.create(session, sender, callout.account_id, body, now)
    except CrediraError as exc:
        log.warning("conversation.payment_link_not_sent", call_id=call_id, reason=str(exc))
        return None
    log.info("conversation.payment_link_sent", call_id=call_id, email_id=email.id)
    return email.id
