"""Emails on request (``POST /send-email``) and as a callout's email part."""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.account.settings import OutreachSettings
from credira.auth.principal import Principal
from credira.callout import policy
from credira.callout import repository as callout_repository
from credira.callout import service as callout_service
from credira.email import repository, state
from credira.email.schemas import EmailReconcile, SendEmailCreate
from credira.email.state import EmailStatus
from credira.email.view import to_detail as to_detail
from credira.email.view import to_read as to_read
from credira.email_template import repository as templates
from credira.email_template.links import check_link_variables
from credira.email_template.render import DEFAULT_LIMITS, Limits, check_variable_count, render
from credira.email_template.variables import default_variables
from credira.errors import Conflict, NotFound
from credira.kit.clock import format_time
from credira.kit.ids import check_id, new_id, new_token
from credira.models import Account, Callout, Email, EmailTemplate, Invoice
from credira.suppression import repository as suppressions

# Which template category a callout's email uses, by callout type.
CATEGORY_FOR_TYPE = {
    "payment_reminder": "payment_reminder",
    "follow_up": "follow_up",
    "verification": "notification",
}
MESSAGE_ID_DOMAIN = "credira.local"


async def reconcile(
    session: AsyncSession, account_id: str, email_id: str, body: EmailReconcile, now: datetime
) -> Email:
    """Settle an ``unconfirmed`` email with what was found out of band."""
    check_id("email", email_id)
    email = await repository.get_locked(session, account_id, email_id)
    if email is None:
        raise NotFound("Email not found")
    if email.status != EmailStatus.UNCONFIRMED:
        raise Conflict(f"Only an unconfirmed email can be reconciled; this one is {email.status}")
    if body.outcome == "delivered":
        state.delivered(
            session,
            email,
            now,
            reason=body.note or "delivery confirmed by reconciliation",
            at=email.sent_time or now,
        )
    else:
        # It never left: it is sent again, and no longer counts as a contact.
        state.reschedule(
            session,
            email,
            now,
            body.note or "not delivered (reconciliation): sending again",
            now,
            unsent=True,
        )
        if email.callout_id is not None and email.origin == "callout":
            await callout_repository.set_email_done(
                session, email.callout_id, False, unless_finished=True
            )
    await session.flush()
    return email


async def get(session: AsyncSession, account_id: str, email_id: str) -> Email:
    check_id("email", email_id)
    email = await repository.get(session, account_id, email_id)
    if email is None:
        raise NotFound("Email not found")
    return email


async def _variables(
    session: AsyncSession, account_id: str, invoice: Invoice | None, name: str | None, now: datetime
) -> dict[str, Any]:
    if invoice is None:
        return {}
    account = await session.get(Account, account_id)
    settings = OutreachSettings.from_json(account.settings if account else None)
    locale = str(invoice.metadata_.get("locale") or settings.locale)
    return dict(
        default_variables(
            invoice,
            customer_name=name,
            locale=locale,
            today=now.date(),
            payment_url=invoice.payment_url,
        )
    )


def _new_email(
    session: AsyncSession,
    *,
    account_id: str,
    template: EmailTemplate,
    rendered_subject: str,
    html: str,
    text: str,
    recipient_email: str,
    recipient_name: str | None,
    callout_id: str | None,
    invoice_id: str | None,
    origin: str,
    email_type: str,
    priority: str,
    when: datetime,
    metadata: dict[str, Any],
    created_by: str | None,
    now: datetime,
) -> Email:
    return state.new(
        session,
        now,
        id=new_id("email"),
        account_id=account_id,
        callout_id=callout_id,
        invoice_id=invoice_id,
        template_id=template.id,
        template_name=template.name,
        attempt_id=new_id("attempt"),
        idempotency_key=f"email:{new_token()}",
        message_id=make_msgid(idstring=new_token(), domain=MESSAGE_ID_DOMAIN),
        tracking_id=new_id("track"),
        recipient_email=recipient_email,
        recipient_name=recipient_name,
        subject=rendered_subject,
        html_body=html,
        text_body=text,
        origin=origin,
        email_type=email_type,
        priority=priority,
        priority_rank=policy.PRIORITY_RANK[priority],
        scheduled_time=when,
        run_at=when,
        metadata_=metadata,
        created_by=created_by,
    )


async def create(
    session: AsyncSession,
    principal: Principal,
    account_id: str,
    body: SendEmailCreate,
    now: datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> Email:
    """Render the template now (a missing variable is refused here, not at sending time), within
    ``limits``: a render past them is refused before anything is stored."""
    check_id("template", body.template_id)
    check_variable_count(body.variables, limits)
    callout: Callout | None = None
    invoice: Invoice | None = None
    if body.callout_id is not None:
        callout = await callout_service.get(session, account_id, body.callout_id)
        invoice = await session.get(Invoice, callout.invoice_id)
        if invoice is not None and invoice.status != "open":
            # Nobody is chased for a settled debt (the callout policy's message names callouts).
            raise Conflict(f"Cannot send an email about a {invoice.status} invoice")
    template = await templates.pick_template(session, account_id, body.template_id, body.email_type)
    if await suppressions.is_suppressed(session, account_id, "email", body.recipient_email):
        raise Conflict("The recipient has unsubscribed from this account's emails")
    name = body.recipient_name or (callout.contact_name if callout else None)
    variables = await _variables(session, account_id, invoice, name, now)
    if name:
        variables.setdefault("customer_name", name)
    variables.update(body.variable_strings())
    check_link_variables(template.html_content, variables)
    rendered = render(
        template.subject, template.html_content, template.text_content, variables, limits
    )
    email = _new_email(
        session,
        account_id=account_id,
        template=template,
        rendered_subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        recipient_email=body.recipient_email,
        recipient_name=name,
        callout_id=callout.id if callout else None,
        invoice_id=invoice.id if invoice else None,
        origin="send_email",
        email_type=body.email_type,
        priority=body.priority,
        when=body.scheduled_time or now,
        metadata=body.metadata,
        created_by=principal.user_id,
        now=now,
    )
    await templates.record_use(session, template, now)
    await session.flush()
    return email


async def create_for_callout(
    session: AsyncSession,
    callout: Callout,
    invoice: Invoice,
    now: datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> Email:
    """The email part of a callout, rendered from its template and the invoice's data."""
    category = CATEGORY_FOR_TYPE.get(callout.type, "payment_reminder")
    template = await templates.pick_template(
        session, callout.account_id, callout.template_id, category
    )
    variables = await _variables(session, callout.account_id, invoice, callout.contact_name, now)
    check_link_variables(template.html_content, variables)
    rendered = render(
        template.subject, template.html_content, template.text_content, variables, limits
    )
    email = _new_email(
        session,
        account_id=callout.account_id,
        template=template,
        rendered_subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        recipient_email=callout.contact_email or "",
        recipient_name=callout.contact_name,
        callout_id=callout.id,
        invoice_id=invoice.id,
        origin="callout",
        email_type=category,
        priority=callout.priority,
        when=now,
        metadata=dict(callout.metadata_),
        created_by=callout.created_by,
        now=now,
    )
    await templates.record_use(session, template, now)
    await session.flush()
    return email


def send_reply(email: Email) -> dict[str, Any]:
    """The documented reply of ``POST /send-email``."""
    return {
        "id": email.id,
        "template_id": email.template_id,
        "callout_id": email.callout_id,
        "recipient_email": email.recipient_email,
        "recipient_name": email.recipient_name,
        "subject": email.subject,
        "status": email.status,
        "scheduled_time": format_time(email.scheduled_time),
        "account_id": email.account_id,
        "created_time": format_time(email.created_time),
        "email_type": email.email_type,
        "priority": email.priority,
        "estimated_delivery": format_time(email.scheduled_time),
        "tracking_id": email.tracking_id,
        "metadata": email.metadata_,
    }
