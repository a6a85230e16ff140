"""Editors of voice agents, email templates (with a live preview of the rendered email) and
collection plans. Each save goes through the API's own service and schema (the same checks,
the same errors, the same events) under the API's permission, and carries the version the form
was opened at: a save over someone else's change is refused (412), never silently merged."""

from __future__ import annotations

import json
from datetime import UTC, date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request
from markupsafe import escape
from pydantic import BaseModel, ValidationError
from starlette.responses import HTMLResponse, Response

from credira.agent import repository as agent_repository
from credira.agent import service as agent_service
from credira.agent.schemas import VoiceAgentUpdate
from credira.dashboard.web import Viewer, done, page, render, router, url
from credira.email_template import repository as template_repository
from credira.email_template import service as template_service
from credira.email_template.render import Limits
from credira.email_template.render import render as render_template
from credira.email_template.schemas import EmailTemplateUpdate
from credira.email_template.variables import default_variables
from credira.errors import CrediraError, PreconditionFailed, ValidationFailed
from credira.kit.pagination import Page
from credira.models import Invoice
from credira.plan import repository as plan_repository
from credira.plan import service as plan_service
from credira.plan.schemas import CollectionPlanUpdate

pages = router()

LIST_SIZE = 100
# The rendered email's HTML part is a document of its own in a frame: its inline styles apply
# there (the dashboard's own pages allow none), and nothing in it runs or loads from elsewhere.
EMAIL_PREVIEW_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'self'; sandbox"
    ),
    "X-Frame-Options": "SAMEORIGIN",
}


def _invalid(exc: ValidationError) -> ValidationFailed:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return ValidationFailed(f"{where}: {error['msg']}" if where else str(error["msg"]))


def _check_version(form: dict[str, str], current: int) -> None:
    if form.get("version") != str(current):
        raise PreconditionFailed(
            "Someone changed this since you opened it; open it again to see their change"
        )


def _changed(form: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """The form's fields among ``names`` (an empty one is left as it is)."""
    return {name: form[name] for name in names if form.get(name, "").strip() != ""}


def _validated(schema: type[BaseModel], fields: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None


# Voice agents --------------------------------------------------------------------------------


@pages.get("/agents")
async def list_agents(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("voice_agents:read", "list voice agents"))],
) -> Response:
    """The account's voice agents."""
    agents, more, total = await agent_repository.list_agents(
        viewer.session, viewer.account_id, None, Page(LIST_SIZE, None)
    )
    return render(
        request, "agents.html", title="Voice agents", agents=agents, more=more, total=total
    )


@pages.get("/agents/{agent_id}")
async def edit_agent(
    request: Request,
    agent_id: str,
    viewer: Annotated[Viewer, Depends(page("voice_agents:read", "access this voice agent"))],
) -> Response:
    """One voice agent's editor (read-only without voice_agents:write)."""
    agent = await agent_service.get(viewer.session, viewer.account_id, agent_id)
    return render(
        request,
        "agent.html",
        title=f"Voice agent {agent.name}",
        agent=agent,
        may_write=viewer.can("voice_agents:write"),
    )


@pages.post("/agents/{agent_id}")
async def save_agent(
    request: Request,
    agent_id: str,
    viewer: Annotated[Viewer, Depends(page("voice_agents:write", "update this voice agent"))],
) -> Response:
    """Save a voice agent (``PUT /v1/voice-agents/{id}``'s service)."""
    agent = await agent_service.get(viewer.session, viewer.account_id, agent_id)
    _check_version(viewer.form, agent.version)
    fields = _changed(
        viewer.form, ("name", "voice", "language", "script", "status", "provider", "mode")
    )
    if viewer.form.get("max_duration", "").strip():
        fields["max_duration"] = _integer(viewer.form["max_duration"], "max_duration")
    if "from_number" in viewer.form:
        fields["from_number"] = viewer.form["from_number"].strip() or None
    body = _validated(VoiceAgentUpdate, fields)
    await agent_service.update(viewer.session, agent, body, viewer.clock.now())
    await viewer.commit()
    return done(request, url(f"/agents/{agent.id}", saved=1))


def _integer(value: str, field: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValidationFailed(f"{field}: a whole number is needed", field=field) from None


# Email templates -----------------------------------------------------------------------------


@pages.get("/templates")
async def list_templates(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("emails:read", "access email templates"))],
) -> Response:
    """The account's email templates."""
    templates, more, total = await template_repository.list_templates(
        viewer.session, viewer.account_id, None, None, Page(LIST_SIZE, None)
    )
    return render(
        request,
        "templates.html",
        title="Email templates",
        templates=templates,
        more=more,
        total=total,
    )


def _sample_variables(today: date) -> dict[str, str]:
    """What the preview renders with: a made-up invoice, 12 days overdue."""
    invoice = Invoice(
        number="INV-PREVIEW-1",
        amount=Decimal("1250.00"),
        currency="USD",
        due_date=today - timedelta(days=12),
        customer_name="Jane Example",
        payment_url="https://pay.example.com/INV-PREVIEW-1",
    )
    return default_variables(
        invoice, customer_name=None, locale="en_US", today=today, payment_url=None
    )


def _preview(viewer: Viewer, subject: str, html: str, text: str) -> dict[str, Any]:
    try:
        rendered = render_template(
            subject,
            html,
            text,
            _sample_variables(viewer.clock.now().astimezone(UTC).date()),
            Limits.of(viewer.runtime.settings),
        )
    except CrediraError as exc:
        return {"preview_error": exc.message}
    return {"preview": rendered}


def _email_document(viewer: Viewer, subject: str, html: str, text: str) -> Response:
    context = _preview(viewer, subject, html, text)
    if "preview" in context:
        body = context["preview"].html
    else:
        body = f"<p>{escape(context['preview_error'])}</p>"
    return HTMLResponse(body, headers=EMAIL_PREVIEW_HEADERS)


@pages.get("/templates/{template_id}/email")
async def template_email(
    template_id: str,
    viewer: Annotated[Viewer, Depends(page("emails:read", "access this email template"))],
) -> Response:
    """The saved template's HTML part, rendered for the sample invoice (the preview frame)."""
    template = await template_service.get(viewer.session, viewer.account_id, template_id)
    return _email_document(viewer, template.subject, template.html_content, template.text_content)


@pages.post("/templates/preview/email")
async def preview_email(
    viewer: Annotated[Viewer, Depends(page("emails:read", "access email templates"))],
) -> Response:
    """The form's HTML part, rendered for the sample invoice (nothing is saved): the editor
    posts it to the preview frame as the text changes."""
    form = viewer.form
    return _email_document(
        viewer, form.get("subject", ""), form.get("html_content", ""), form.get("text_content", "")
    )


@pages.get("/templates/{template_id}")
async def edit_template(
    request: Request,
    template_id: str,
    viewer: Annotated[Viewer, Depends(page("emails:read", "access this email template"))],
) -> Response:
    """One template's editor, with the email it renders for a sample invoice beside it."""
    template = await template_service.get(viewer.session, viewer.account_id, template_id)
    return render(
        request,
        "template.html",
        title=f"Email template {template.name}",
        email_template=template,
        may_write=viewer.can("emails:write"),
        **_preview(viewer, template.subject, template.html_content, template.text_content),
    )


@pages.post("/templates/preview")
async def preview_template(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("emails:read", "access email templates"))],
) -> Response:
    """The rendered email for the form's subject and bodies (nothing is saved): the editor
    asks for it as the text changes (htmx)."""
    form = viewer.form
    context = _preview(
        viewer, form.get("subject", ""), form.get("html_content", ""), form.get("text_content", "")
    )
    return render(request, "_template_preview.html", **context)


@pages.post("/templates/{template_id}")
async def save_template(
    request: Request,
    template_id: str,
    viewer: Annotated[Viewer, Depends(page("emails:write", "update this email template"))],
) -> Response:
    """Save a template (``PUT /v1/email-templates/{id}``'s service: syntax and links checked,
    variables derived again)."""
    template = await template_service.get(viewer.session, viewer.account_id, template_id)
    _check_version(viewer.form, template.version)
    fields = _changed(
        viewer.form, ("name", "subject", "html_content", "text_content", "category", "status")
    )
    body = _validated(EmailTemplateUpdate, fields)
    await template_service.update(
        viewer.session, template, body, viewer.clock.now(), Limits.of(viewer.runtime.settings)
    )
    await viewer.commit()
    return done(request, url(f"/templates/{template.id}", saved=1))


# Collection plans ----------------------------------------------------------------------------


@pages.get("/plans")
async def list_plans(
    request: Request,
    viewer: Annotated[Viewer, Depends(page("plans:read", "list collection plans"))],
) -> Response:
    """The account's collection plans."""
    plans, more, total = await plan_repository.list_plans(
        viewer.session, viewer.account_id, Page(LIST_SIZE, None)
    )
    return render(
        request, "plans.html", title="Collection plans", plans=plans, more=more, total=total
    )


@pages.get("/plans/{plan_id}")
async def edit_plan(
    request: Request,
    plan_id: str,
    viewer: Annotated[Viewer, Depends(page("plans:read", "access this collection plan"))],
) -> Response:
    """One plan's editor: its settings, and its steps as the JSON the API takes."""
    plan = await plan_service.get(viewer.session, viewer.account_id, plan_id)
    return render(
        request,
        "plan.html",
        title=f"Collection plan {plan.name}",
        plan=plan,
        steps_json=json.dumps(plan.steps, indent=2, default=str),
        may_write=viewer.can("plans:write"),
    )


@pages.post("/plans/{plan_id}")
async def save_plan(
    request: Request,
    plan_id: str,
    viewer: Annotated[Viewer, Depends(page("plans:write", "update this collection plan"))],
) -> Response:
    """Save a plan (``PUT /v1/collection-plans/{id}``'s service: steps checked, invoices go on
    at their next position)."""
    plan = await plan_service.get(viewer.session, viewer.account_id, plan_id)
    _check_version(viewer.form, plan.version)
    form = viewer.form
    fields: dict[str, Any] = _changed(form, ("name",))
    fields["description"] = form.get("description", "").strip() or None
    if form.get("min_gap_hours", "").strip():
        fields["min_gap_hours"] = _integer(form["min_gap_hours"], "min_gap_hours")
    fields["skip_weekends"] = form.get("skip_weekends") == "on"
    fields["skip_holidays"] = form.get("skip_holidays") == "on"
    try:
        fields["steps"] = json.loads(form.get("steps", ""))
    except ValueError:
        raise ValidationFailed("steps: not valid JSON", field="steps") from None
    body = _validated(CollectionPlanUpdate, fields)
    await plan_service.update(viewer.session, viewer.principal, plan, body, viewer.clock.now())
    await viewer.commit()
    viewer.runtime.wake_worker()
    return done(request, url(f"/plans/{plan.id}", saved=1))
