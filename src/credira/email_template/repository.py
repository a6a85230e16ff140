from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from credira.errors import Conflict, NotFound
from credira.kit.ids import check_id
from credira.kit.pagination import Page
from credira.models import EmailTemplate


async def get(session: AsyncSession, account_id: str, template_id: str) -> EmailTemplate | None:
    return await session.scalar(
        select(EmailTemplate).where(
            EmailTemplate.id == template_id, EmailTemplate.account_id == account_id
        )
    )


async def list_templates(
    session: AsyncSession,
    account_id: str,
    status: str | None,
    category: str | None,
    page: Page,
) -> tuple[list[EmailTemplate], bool, int]:
    conditions = [EmailTemplate.account_id == account_id]
    if status is not None:
        conditions.append(EmailTemplate.status == status)
    if category is not None:
        conditions.append(EmailTemplate.category == category)
    query = page.apply(select(EmailTemplate).where(*conditions), EmailTemplate.id)
    items, more = page.split(list((await session.scalars(query)).all()))
    if page.starting_after is None and not more:
        return items, more, len(items)
    total = await session.scalar(select(func.count()).select_from(EmailTemplate).where(*conditions))
    return items, more, int(total or 0)


async def pick_template(
    session: AsyncSession, account_id: str, template_id: str | None, category: str
) -> EmailTemplate:
    """The template an email is written with.

    An explicit ``template_id`` must name an active template of the account (``NOT_FOUND``
    "Email template not found", or ``CONFLICT`` when it is inactive or a draft); without one, the
    account's oldest active template of ``category`` (``NOT_FOUND`` when it has none).
    """
    if template_id is not None:
        check_id("template", template_id)
        template = await get(session, account_id, template_id)
        if template is None:
            raise NotFound("Email template not found")
        if template.status != "active":
            raise Conflict(f"Email template {template_id} is {template.status}, not active")
        return template
    template = await session.scalar(
        select(EmailTemplate)
        .where(
            EmailTemplate.account_id == account_id,
            EmailTemplate.category == category,
            EmailTemplate.status == "active",
        )
        .order_by(EmailTemplate.id)
        .limit(1)
    )
    if template is None:
        raise NotFound(f"No active {category} email template in the account")
    return template


async def record_use(session: AsyncSession, template: EmailTemplate, now: datetime) -> None:
    """Count one email written with ``template``.

    One atomic ``UPDATE`` (no read-modify-write), so concurrent senders never lose a count, and
    the row's ``version`` is left alone: usage is bookkeeping, and a client's ``If-Match`` on
    the template's content must not fail because an email went out meanwhile.
    """
    count = await session.scalar(
        update(EmailTemplate)
        .where(EmailTemplate.id == template.id)
        .values(usage_count=EmailTemplate.usage_count + 1, last_used=now)
        .returning(EmailTemplate.usage_count)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(template, "usage_count", int(count or 0))
    set_committed_value(template, "last_used", now)
