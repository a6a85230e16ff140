"""The rules the agent cannot talk its way out of, in code around whatever policy speaks.

Every tool call goes through ``Guard.call``: its arguments are checked against the call's
context and the account's settlement policy, and it is recorded, accepted or refused with the
reason the policy is told. Every word the agent says goes through ``Guard.screen``: before the
debtor is verified, a reply that names the debt (amount, invoice, the words for a debt) is
replaced by a request to confirm who is speaking, with a name and a callback number. A
third-party collector's disclosure is said before the first detail of the debt
(``Guard.preamble``).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from credira.conversation.context import CallContext
from credira.conversation.record import Record, RecordedOutcome, ToolUse
from credira.conversation.wording import lines

TOOL_NAMES = (
    "verify_identity",
    "record_promise",
    "offer_payment_plan",
    "record_dispute",
    "request_callback",
    "send_payment_link",
    "record_opt_out",
    "report_wrong_party",
    "report_attorney",
    "end_call",
)
# Tools that end the call once accepted.
ENDING = frozenset({"record_opt_out", "report_wrong_party", "report_attorney", "end_call"})
# Tools about the debt: only for the verified debtor.
NEEDS_VERIFIED = frozenset(
    {"record_promise", "offer_payment_plan", "record_dispute", "send_payment_link"}
)
# A later outcome replaces an earlier one only when it ranks higher (an opt-out stands
# whatever follows it).
RANK: dict[RecordedOutcome, int] = {
    "acknowledged": 0,
    "callback_requested": 1,
    "promise_to_pay": 2,
    "dispute": 3,
    "wrong_party": 4,
    "opt_out": 5,
}
CALLBACK_HOURS = (8, 21)  # the debtor's local calling window
CALLBACK_DAYS = 14

_DEBT_WORDS = re.compile(
    r"\b(debts?|owe[sd]?|owing|invoices?|balance|overdue|collect\w*|payments?|pay|paid|"
    r"amount|deudas?|debe|factura|saldo|pagos?|pagar|cobr\w*)\b",
    re.IGNORECASE,
)
_AFFIRM = re.compile(
    r"\b(yes|yeah|yep|speaking|that's me|this is (he|she|me|him|her)|it's me|i am|i'm|"
    r"s[ií]|soy yo|al habla|correct|right)\b",
    re.IGNORECASE,
)
_DENY = re.compile(
    r"\b(no|not|wrong|nobody|never heard|doesn't live|isn't here|no vive|equivocado|"
    r"no está|no es)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ToolResult:
    accepted: bool
    message: str


def _tool(description: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": "",
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
                "additionalProperties": False,
            },
        },
    }


_SPECS: dict[str, dict[str, Any]] = {
    "verify_identity": _tool(
        "The person on the line confirmed they are the debtor named in the instructions. "
        "Call it before saying anything about the debt.",
        {"confirmed": {"type": "boolean"}},
    ),
    "record_promise": _tool(
        "The verified debtor promises to pay an amount on a day.",
        {
            "date": {"type": "string", "description": "YYYY-MM-DD"},
            "amount": {"type": "string", "description": "decimal, in the invoice's currency"},
        },
    ),
    "offer_payment_plan": _tool(
        "The verified debtor accepts a plan of instalments that sum to the balance.",
        {
            "instalments": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"date": {"type": "string"}, "amount": {"type": "string"}},
                    "required": ["date", "amount"],
                    "additionalProperties": False,
                },
            }
        },
    ),
    "record_dispute": _tool(
        "The verified debtor disputes the debt (including saying it is already paid).",
        {"reason": {"type": "string"}},
    ),
    "request_callback": _tool(
        "The person asks to be called back at a time (ISO 8601, local time of the debtor).",
        {"time": {"type": "string"}},
    ),
    "send_payment_link": _tool("Email the verified debtor the invoice's payment link.", {}),
    "record_opt_out": _tool("The person asks not to be called again. Ends the call.", {}),
    "report_wrong_party": _tool(
        "The person is not the debtor (wrong number, a relative, a minor's parent). Ends the call.",
        {"reason": {"type": "string"}},
    ),
    "report_attorney": _tool(
        "The debtor is represented by an attorney. Ends the call.",
        {"attorney": {"type": "string", "description": "name or phone, if given"}},
    ),
    "end_call": _tool("End the call politely.", {"reason": {"type": "string"}}),
}
for _name, _spec in _SPECS.items():
    _spec["function"]["name"] = _name
TOOL_SPECS: list[dict[str, Any]] = [_SPECS[name] for name in TOOL_NAMES]


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount > 0 else None


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


class Guard:
    def __init__(self, context: CallContext, record: Record | None = None) -> None:
        self.context = context
        self.record = record or Record()
        self.words = lines(context.lang)
        self.ending: str | None = None  # the accepted tool that ends the call
        self.disclosed = False  # the collector's disclosure (or the debt's details) said
        self.last_debtor = ""  # the debtor's last words, to check verify_identity against

    @property
    def verified(self) -> bool:
        return self.record.verified

    # --- Words ---

    def fill(self, text: str) -> str:
        c = self.context
        return text.format(
            agent_name=c.agent_name,
            customer_name=c.customer_name,
            company_name=c.company_name,
            invoice_number=c.invoice_number,
            amount_text=c.amount_text,
            due_date=c.due_date.isoformat(),
            callback_number=c.callback_number,
        )

    def discloses(self, text: str) -> bool:
        """Whether ``text`` says anything of the debt."""
        c = self.context
        if _DEBT_WORDS.search(text):
            return True
        lowered = text.lower()
        marks = [c.invoice_number, c.company_name, c.amount_text]
        if c.amount > 0:
            marks += [str(c.amount), f"{c.amount:,}", str(int(c.amount))]
        return any(m and len(m) >= 2 and m.lower() in lowered for m in marks)

    def screen(self, text: str) -> str:
        """What the agent may say of ``text`` (a whole reply, before verification)."""
        if self.verified or not self.discloses(text):
            return text
        return self.fill(self.words.confirm_first)

    def preamble(self) -> str:
        """Said once before the first words to the verified debtor: a third-party
        collector's disclosure."""
        if self.disclosed or not self.verified:
            return ""
        self.disclosed = True
        return self.words.disclosure if self.context.third_party_collector else ""

    # --- Tools ---

    def call(self, name: str, arguments: dict[str, Any], now: datetime) -> ToolResult:
        result = self._check(name, arguments if isinstance(arguments, dict) else {}, now)
        self.record.lines.append(
            ToolUse(name, dict(arguments or {}), now, result.accepted, result.message)
        )
        if result.accepted and name in ENDING and self.ending is None:
            self.ending = name
        return result

    def _outcome(self, outcome: RecordedOutcome) -> None:
        current = self.record.outcome
        if current is None or RANK[outcome] >= RANK[current]:
            self.record.outcome = outcome

    def _check(self, name: str, args: dict[str, Any], now: datetime) -> ToolResult:
        if name not in _SPECS:
            return ToolResult(False, f"unknown tool {name}")
        if self.ending is not None and name != "end_call":
            return ToolResult(False, "the call is ending")
        if name in NEEDS_VERIFIED and not self.verified:
            return ToolResult(False, "refused: the debtor's identity is not verified")
        c, record = self.context, self.record
        if name == "verify_identity":
            if args.get("confirmed") is not True:
                return ToolResult(False, "not confirmed")
            said = self.last_debtor
            if not _AFFIRM.search(said) or (_DENY.search(said) and not _AFFIRM.match(said)):
                return ToolResult(False, "refused: the person has not confirmed who they are")
            record.verified = True
            return ToolResult(True, "verified")
        if name == "record_promise":
            return self._promise(args, now)
        if name == "offer_payment_plan":
            return self._plan(args, now)
        if name == "record_dispute":
            reason = str(args.get("reason") or "disputed by the debtor")[:300]
            record.dispute_reason = reason
            self._outcome("dispute")
            return ToolResult(True, "dispute recorded")
        if name == "request_callback":
            return self._callback(args, now)
        if name == "send_payment_link":
            if not c.email:
                return ToolResult(False, "refused: no email address on file")
            record.payment_link_sent = True
            return ToolResult(True, "the payment link will be emailed to the address on file")
        if name == "record_opt_out":
            self._outcome("opt_out")
            return ToolResult(True, "opt-out recorded")
        if name == "report_attorney":
            self._outcome("opt_out")
            record.dispute_reason = (
                "represented by an attorney: " + str(args.get("attorney") or "not named")[:200]
            )
            return ToolResult(True, "attorney recorded")
        if name == "report_wrong_party":
            if self.verified:
                return ToolResult(False, "refused: the debtor was verified on this call")
            self._outcome("wrong_party")
            return ToolResult(True, "wrong party recorded")
        # end_call
        return ToolResult(True, "ending")

    def _promise(self, args: dict[str, Any], now: datetime) -> ToolResult:
        c = self.context
        day, amount = _day(args.get("date")), _money(args.get("amount"))
        if day is None or amount is None:
            return ToolResult(False, "refused: a promise needs a date (YYYY-MM-DD) and an amount")
        if day < c.today(now) or day > c.last_promise_day(now):
            return ToolResult(
                False,
                f"refused: the date must be between today and {c.last_promise_day(now)}",
            )
        least = c.amount * c.policy.min_promise_percent / 100
        if amount < least or amount > c.amount:
            return ToolResult(
                False, f"refused: the amount must be between {least:.2f} and {c.amount:.2f}"
            )
        self.record.promised_date = day
        self.record.promised_amount = f"{amount:.2f}"
        self._outcome("promise_to_pay")
        return ToolResult(True, f"promise recorded: {amount:.2f} {c.currency} on {day}")

    def _plan(self, args: dict[str, Any], now: datetime) -> ToolResult:
        c, p = self.context, self.context.policy
        raw = args.get("instalments")
        if not p.allow_plans:
            return ToolResult(False, "refused: this account offers no payment plans")
        if not isinstance(raw, list) or not raw:
            return ToolResult(False, "refused: a plan needs its instalments")
        if len(raw) > p.max_instalments:
            return ToolResult(False, f"refused: at most {p.max_instalments} instalments")
        days: list[date] = []
        amounts: list[Decimal] = []
        for item in raw:
            day = _day(item.get("date")) if isinstance(item, dict) else None
            amount = _money(item.get("amount")) if isinstance(item, dict) else None
            if day is None or amount is None:
                return ToolResult(False, "refused: each instalment needs a date and an amount")
            days.append(day)
            amounts.append(amount)
        if days != sorted(days) or days[0] < c.today(now) or days[0] > c.last_promise_day(now):
            return ToolResult(
                False, f"refused: the first payment must be by {c.last_promise_day(now)}"
            )
        if any((b - a).days > p.max_plan_days for a, b in itertools.pairwise(days)):
            return ToolResult(False, f"refused: payments at most {p.max_plan_days} days apart")
        if any(a < p.min_instalment for a in amounts):
            return ToolResult(False, f"refused: each payment at least {p.min_instalment}")
        if sum(amounts, Decimal(0)) != c.amount:
            return ToolResult(False, f"refused: the instalments must sum to {c.amount:.2f}")
        self.record.instalments = [
            {"date": d.isoformat(), "amount": f"{a:.2f}"}
            for d, a in zip(days, amounts, strict=True)
        ]
        self.record.promised_date = days[0]
        self.record.promised_amount = f"{amounts[0]:.2f}"
        self._outcome("promise_to_pay")
        return ToolResult(True, f"plan recorded: {len(days)} payments from {days[0]}")

    def _callback(self, args: dict[str, Any], now: datetime) -> ToolResult:
        try:
            at = datetime.fromisoformat(str(args.get("time")))
        except ValueError:
            return ToolResult(False, "refused: the time must be ISO 8601 (YYYY-MM-DDTHH:MM)")
        zone = self.context.tz()
        at = at.replace(tzinfo=zone) if at.tzinfo is None else at
        local = at.astimezone(zone)
        if at <= now or at > now + timedelta(days=CALLBACK_DAYS):
            return ToolResult(False, f"refused: the time must be within {CALLBACK_DAYS} days")
        if not CALLBACK_HOURS[0] <= local.hour < CALLBACK_HOURS[1]:
            return ToolResult(False, "refused: calls are made between 08:00 and 21:00 local time")
        self.record.callback_time = at
        self._outcome("callback_requested")
        return ToolResult(True, f"callback recorded for {local.isoformat(timespec='minutes')}")

    def closing_line(self) -> str:
        w = self.words
        return {
            "record_opt_out": w.closing_opt_out,
            "report_attorney": w.closing_attorney,
            "report_wrong_party": w.closing_wrong_party,
        }.get(self.ending or "", w.closing)
