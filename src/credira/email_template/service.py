"""Email templates: checked and their variables derived when saved; defaults for new accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth.principal import Principal
from credira.email_template import repository
from credira.email_template.defaults import DEFAULT_TEMPLATES
from credira.email_template.links import check_template_links
from credira.email_template.render import DEFAULT_LIMITS, Limits, template_variables
from credira.email_template.schemas import EmailTemplateCreate, EmailTemplateUpdate
from credira.errors import NotFound
from credira.kit.clock import format_time
from credira.kit.ids import check_id, new_id
from credira.kit.metadata import merge_metadata
from credira.models import EmailTemplate


async def get(session: AsyncSession, account_id: str, template_id: str) -> EmailTemplate:
    check_id("template", template_id)
    template = await repository.get(session, account_id, template_id)
    if template is None:
        raise NotFound("Email template not found")
    return template


async def create(
    session: AsyncSession,
    principal: Principal,
    account_id: str,
    body: EmailTemplateCreate,
    now: datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> EmailTemplate:
    variables = template_variables(body.subject, body.html_content, body.text_content, limits)
    check_template_links("html_content", body.html_content)
    template = EmailTemplate(
        id=new_id("template"),
        account_id=account_id,
        name=body.name,
        subject=body.subject,
        html_content=body.html_content,
        text_content=body.text_content,
        category=body.category,
        status=body.status,
        variables=variables,
        usage_count=0,
        metadata_=body.metadata,
        created_by=principal.user_id,
        created_time=now,
        updated_time=now,
    )
    session.add(template)
    await session.flush()
    return template


async def update(
    session: AsyncSession,
    template: EmailTemplate,
    body: EmailTemplateUpdate,
    now: datetime,
    limits: Limits = DEFAULT_LIMITS,
) -> EmailTemplate:
    fields = body.model_dump(exclude_unset=True)
    subject = fields.get("subject") or template.subject
    html = fields.get("html_content") or template.html_content
    text = fields.get("text_content") or template.text_content
    variables = template_variables(subject, html, text, limits)
    if fields.get("html_content") is not None:
        check_template_links("html_content", html)
    for name in ("name", "subject", "html_content", "text_content", "category", "status"):
        if fields.get(name) is not None:
            setattr(template, name, fields[name])
    if variables != template.variables:
        template.variables = variables
    if fields.get("metadata") is not None:
        template.metadata_ = merge_metadata(template.metadata_, fields["metadata"])
    template.updated_time = max(now, template.created_time)
    await session.flush()
    return template


async def delete(session: AsyncSession, template: EmailTemplate) -> None:
    """Emails keep their rendered copy, so deleting a template changes none already written."""
    await session.delete(template)
    await session.flush()


async def create_default_templates(
    session: AsyncSession, account_id: str, now: datetime
) -> list[EmailTemplate]:
    """Give a new account its starting templates (``defaults.DEFAULT_TEMPLATES``), active."""
    templates = [
        EmailTemplate(
            id=new_id("template"),
            account_id=account_id,
            name=default.name,
            subject=default.subject,
            html_content=default.html_content,
            text_content=default.text_content,
            category=default.category,
            status="active",
            variables=template_variables(
                default.subject, default.html_content, default.text_content
            ),
            usage_count=0,
            metadata_={"default": True},
            created_by=None,
            created_time=now,
            updated_time=now,
        )
        for default in DEFAULT_TEMPLATES
    ]
    session.add_all(templates)
    await session.flush()
    return templates


def to_read(template: EmailTemplate) -> dict[str, Any]:
    """The documented template object (CREDIRA_DOCS.md §2.9), key for key."""
    return {
        "id": template.id,
        "account_id": template.account_id,
        "name": template.name,
        "subject": template.subject,
        "category": template.category,
        "status": template.status,
        "html_content": template.html_content,
        "text_content": template.text_content,
        "variables": list(template.variables),
        "created_time": format_time(template.created_time),
        "updated_time": format_time(template.updated_time),
        "created_by": template.created_by,
        "usage_count": template.usage_count,
        "last_used": format_time(template.last_used),
        "metadata": template.metadata_,
    }
