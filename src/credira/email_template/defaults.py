"""The templates every new account starts with: a payment reminder and a follow-up.

They use only the variables that come from the invoice (``credira.email_template.variables``), so
an email about any invoice renders without the client giving any; the payment button appears
only when the invoice has a payment link.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefaultTemplate:
    name: str
    category: str
    subject: str
    html_content: str
    text_content: str


_STYLE = "font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#1f2933"
_BUTTON = (
    "display:inline-block;padding:12px 24px;background:#1a56db;color:#ffffff;"
    "text-decoration:none;border-radius:6px;font-weight:bold"
)


def _html(title: str, paragraphs: list[str], closing: str) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="{_STYLE}"><h1 style="font-size:20px">{title}</h1>'
        f"<p>Dear {{{{ customer_name }}}},</p>{body}"
        '{% if payment_link | default("") %}'
        f'<p><a href="{{{{ payment_link }}}}" style="{_BUTTON}">Pay invoice '
        "{{ invoice_number }}</a></p>"
        "{% endif %}"
        f"<p>{closing}</p><p>Kind regards,<br>The billing team</p></body></html>"
    )


def _text(title: str, paragraphs: list[str], closing: str) -> str:
    body = "\n\n".join(paragraphs)
    return (
        f"{title}\n\nDear {{{{ customer_name }}}},\n\n{body}\n\n"
        '{% if payment_link | default("") %}Pay online: {{ payment_link }}\n\n{% endif %}'
        f"{closing}\n\nKind regards,\nThe billing team\n"
    )


_REMINDER = [
    "This is a friendly reminder that invoice {{ invoice_number }} for {{ amount }}, "
    "due on {{ due_date }}, is still open.",
    "Please make your payment at your earliest convenience.",
]
_REMINDER_CLOSING = "If you have already paid, thank you, and please disregard this message."

_FOLLOW_UP = [
    "We recently reminded you about invoice {{ invoice_number }} for {{ amount }}, "
    "due on {{ due_date }}. Our records show it is still unpaid.",
    "If something prevents you from paying in full, reply to this email and we will "
    "find a solution together.",
]
_FOLLOW_UP_CLOSING = "If your payment is already on its way, thank you."

DEFAULT_TEMPLATES = (
    DefaultTemplate(
        name="Payment Reminder",
        category="payment_reminder",
        subject="Payment reminder: invoice {{ invoice_number }}",
        html_content=_html("Payment reminder", _REMINDER, _REMINDER_CLOSING),
        text_content=_text("Payment reminder", _REMINDER, _REMINDER_CLOSING),
    ),
    DefaultTemplate(
        name="Follow-up",
        category="follow_up",
        subject="Following up: invoice {{ invoice_number }} is still unpaid",
        html_content=_html("Invoice still unpaid", _FOLLOW_UP, _FOLLOW_UP_CLOSING),
        text_content=_text("Invoice still unpaid", _FOLLOW_UP, _FOLLOW_UP_CLOSING),
    ),
)
