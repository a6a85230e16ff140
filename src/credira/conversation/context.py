"""What the agent knows about a call before it starts: the debt, the debtor, the account's
settlement policy. Built from the dial request (`CallRequest`), so every transport (the
simulator, a relay socket in another process) reads the same thing."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from credira.channel.voice.port import CallRequest

DEFAULT_CALLBACK_NUMBER = "+15005550006"


@dataclass(frozen=True)
class SettlementPolicy:
    """What the agent may agree to, per account (``settlement`` in the account's settings).

    A promise must name a day within ``max_promise_days`` and at least ``min_promise_percent``
    of the balance; a plan has at most ``max_instalments`` payments, each at least
    ``min_instalment`` (in the invoice's currency), at most ``max_plan_days`` apart, summing to
    the balance."""

    max_promise_days: int = 30
    min_promise_percent: int = 100
    allow_plans: bool = True
    max_instalments: int = 6
    min_instalment: Decimal = Decimal("20")
    max_plan_days: int = 31

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SettlementPolicy:
        data = data or {}
        base = cls()
        try:
            return cls(
                max_promise_days=int(data.get("max_promise_days", base.max_promise_days)),
                min_promise_percent=int(data.get("min_promise_percent", base.min_promise_percent)),
                allow_plans=bool(data.get("allow_plans", base.allow_plans)),
                max_instalments=int(data.get("max_instalments", base.max_instalments)),
                min_instalment=Decimal(str(data.get("min_instalment", base.min_instalment))),
                max_plan_days=int(data.get("max_plan_days", base.max_plan_days)),
            )
        except (TypeError, ValueError, InvalidOperation):
            return base

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["min_instalment"] = str(self.min_instalment)
        return data


@dataclass(frozen=True)
class CallContext:
    call_id: str
    account_id: str
    customer_name: str
    company_name: str
    agent_name: str
    invoice_number: str
    amount: Decimal
    currency: str
    amount_text: str  # as the debtor hears it: "1,250.00 USD"
    due_date: date
    language: str  # "en-US"
    zone: str  # the debtor's IANA zone
    instructions: str  # the agent's rendered script: its brief for this call
    max_duration: int  # seconds
    policy: SettlementPolicy = field(default_factory=SettlementPolicy)
    third_party_collector: bool = False
    callback_number: str = DEFAULT_CALLBACK_NUMBER
    email: str | None = None
    payment_link: str = ""
    # Earlier contacts and promises, one line each, newest last.
    history: tuple[str, ...] = ()

    @property
    def lang(self) -> str:
        return self.language.split("-")[0].lower()

    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.zone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz()).date()

    def days_overdue(self, now: datetime) -> int:
        return max((self.today(now) - self.due_date).days, 0)

    def last_promise_day(self, now: datetime) -> date:
        return self.today(now) + timedelta(days=self.policy.max_promise_days)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["amount"] = str(self.amount)
        data["due_date"] = self.due_date.isoformat()
        data["policy"] = self.policy.to_json()
        data["history"] = list(self.history)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallContext:
        values = dict(data)
        values["amount"] = Decimal(str(values["amount"]))
        values["due_date"] = date.fromisoformat(str(values["due_date"]))
        values["policy"] = SettlementPolicy.from_json(values.get("policy"))
        values["history"] = tuple(values.get("history") or ())
        return cls(**values)


# What the worker adds to a conversation agent's dial request (``CallRequest.metadata``):
# ``mode``, and the context's values the script's variables do not hold, as JSON.
MODE_KEY = "mode"
CONTEXT_KEY = "conversation"


def request_extras(
    *,
    amount: Decimal,
    due_date: date,
    zone: str,
    settings: dict[str, Any] | None,
    email: str | None,
    history: list[str],
) -> dict[str, str]:
    """The metadata a conversation agent's dial request carries beside its variables."""
    settings = settings or {}
    extras = {
        "amount": str(amount),
        "due_date": due_date.isoformat(),
        "zone": zone,
        "policy": SettlementPolicy.from_json(settings.get("settlement")).to_json(),
        "third_party_collector": bool(settings.get("third_party_collector", False)),
        "callback_number": str(settings.get("callback_number") or DEFAULT_CALLBACK_NUMBER),
        "email": email,
        "history": history[-5:],
    }
    return {MODE_KEY: "conversation", CONTEXT_KEY: json.dumps(extras)}


def wants_conversation(request: CallRequest) -> bool:
    return request.metadata.get(MODE_KEY) == "conversation"


def context_of(request: CallRequest) -> CallContext:
    """The call's context from its dial request (variables and the conversation's extras)."""
    v = request.variables
    extras: dict[str, Any] = {}
    raw = request.metadata.get(CONTEXT_KEY)
    if raw:
        try:
            loaded = json.loads(raw)
            extras = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            extras = {}
    try:
        amount = Decimal(str(extras.get("amount", "0")))
    except InvalidOperation:
        amount = Decimal("0")
    try:
        due = date.fromisoformat(str(extras.get("due_date") or v.get("due_date", "")))
    except ValueError:
        due = date(1970, 1, 1)
    return CallContext(
        call_id=request.metadata.get("call_id", ""),
        account_id=request.metadata.get("account_id", ""),
        customer_name=v.get("customer_name", ""),
        company_name=v.get("company_name", ""),
        agent_name=v.get("agent_name", "") or "Credira",
        invoice_number=v.get("invoice_number", ""),
        amount=amount,
        currency=v.get("currency", ""),
        amount_text=v.get("amount", ""),
        due_date=due,
        language=request.language,
        zone=str(extras.get("zone") or "UTC"),
        instructions=request.script,
        max_duration=request.max_duration,
        policy=SettlementPolicy.from_json(extras.get("policy")),
        third_party_collector=bool(extras.get("third_party_collector", False)),
        callback_number=str(extras.get("callback_number") or DEFAULT_CALLBACK_NUMBER),
        email=extras.get("email") or None,
        payment_link=v.get("payment_link", ""),
        history=tuple(str(h) for h in extras.get("history") or ()),
    )
