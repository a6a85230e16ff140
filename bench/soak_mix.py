"""The soak's traffic: which requests, in what proportion, on which rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import dbs, seed
from credira.callout.state import CalloutStatus

# Requests per second of each kind at the default rate; --rate scales them together.
DEFAULT_RATE = 35.0
MIX: dict[str, int] = {
    "GET /v1/callouts/{id}": 9,
    "GET /v1/callouts?invoice_id=": 4,
    "PUT /v1/callouts/{id}": 4,
    "POST /v1/callouts (in 60 days)": 2,
    "POST /v1/callouts (due now)": 3,
    "GET /v1/invoices/{id}": 3,
    "GET /v1/invoices?status=open": 1,
    "POST /v1/invoices": 3,
    "PUT /v1/invoices/{id}": 2,
    "POST /v1/send-email": 3,
    "POST /v1/calls": 1,
}
assert sum(MIX.values()) == DEFAULT_RATE
# Kinds that make the worker call someone: each gets an invoice of its own, because the
# calling rules allow no second call about an invoice within 7 days of a conversation.
FRESH = ("POST /v1/callouts (due now)", "POST /v1/calls")
HOT_INVOICES, PER_HOT_INVOICE, LATER_INVOICES = 200, 2, 100


@dataclass
class Fixture:
    tenant: seed.Tenant
    hot_callouts: list[str]  # scheduled a month ahead: read and updated
    hot_invoices: list[str]  # PER_HOT_INVOICE of those each: listed, read, updated
    later_invoices: list[str]  # callouts for in 60 days are created here
    fresh_invoices: list[str]  # one per request that makes a call
    template_id: str = ""


def schedule(weights: dict[str, int], count: int) -> list[str]:
    """``count`` kinds in proportion to ``weights``, spread evenly (smooth weighted
    round-robin), so that every stretch of the run sees the same mix."""
    total = sum(weights.values())
    current = dict.fromkeys(weights, 0)
    out = []
    for _ in range(count):
        for kind, weight in weights.items():
            current[kind] += weight
        pick = max(current, key=lambda k: current[k])
        current[pick] -= total
        out.append(pick)
    return out


def seed_rows(db: dbs.Database, tenant: seed.Tenant, fresh: int) -> Fixture:
    later = datetime.now(UTC) + timedelta(days=30)
    zone = seed.zone_in_calling_hours()
    account = tenant.account_id
    hot = [
        seed.invoice_row(account, 90_000_000 + n, "America/New_York") for n in range(HOT_INVOICES)
    ]
    posts = [
        seed.invoice_row(account, 91_000_000 + n, "America/New_York") for n in range(LATER_INVOICES)
    ]
    # Numbers ending in 00: the simulated debtor answers and acknowledges, in a zone where it
    # is mid-afternoon, so every call is placed and ends the callout completed.
    new = [seed.invoice_row(account, 92_000_000 + n, zone, "00") for n in range(fresh)]
    callouts = [
        seed.callout_row(inv, tenant.agent_id, status=CalloutStatus.SCHEDULED, scheduled=later)
        for inv in hot
        for _ in range(PER_HOT_INVOICE)
    ]
    seed.write_invoices_callouts(
        db, [(chunk, []) for chunk in seed.chunks(hot + posts + new, seed.BATCH)]
    )
    seed.write_invoices_callouts(db, [([], callouts)])
    return Fixture(
        tenant,
        [c["id"] for c in callouts],
        [i["id"] for i in hot],
        [i["id"] for i in posts],
        [i["id"] for i in new],
    )


def request(kind: str, i: int, fx: Fixture) -> dict[str, Any]:
    """The ``i``-th request of ``kind``; ``{n}`` is the load generator's request counter."""
    agent = fx.tenant.agent_id
    callout = fx.hot_callouts[i % len(fx.hot_callouts)]
    invoice = fx.hot_invoices[i % len(fx.hot_invoices)]
    body: str | None = None
    match kind:
        case "GET /v1/callouts/{id}":
            method, path = "GET", f"/v1/callouts/{callout}"
        case "GET /v1/callouts?invoice_id=":
            method, path = "GET", f"/v1/callouts?invoice_id={invoice}"
        case "PUT /v1/callouts/{id}":
            method, path = "PUT", f"/v1/callouts/{callout}"
            body = '{"metadata":{"soak":"{n}"}}'
        case "POST /v1/callouts (in 60 days)":
            later = (datetime.now(UTC) + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
            method, path = "POST", "/v1/callouts"
            body = (
                f'{{"invoice_id":"{fx.later_invoices[i % len(fx.later_invoices)]}",'
                f'"scheduled_time":"{later}","priority":"low",'
                f'"actions":{{"voice_agent_id":"{agent}"}},"metadata":{{"soak":"{{n}}"}}}}'
            )
        case "POST /v1/callouts (due now)":
            method, path = "POST", "/v1/callouts"
            body = (
                f'{{"invoice_id":"{fx.fresh_invoices[i]}","priority":"high","actions":'
                f'{{"calls_enabled":true,"emails_enabled":true,"voice_agent_id":"{agent}"}}}}'
            )
        case "GET /v1/invoices/{id}":
            method, path = "GET", f"/v1/invoices/{invoice}"
        case "GET /v1/invoices?status=open":
            method, path = "GET", "/v1/invoices?status=open&limit=20"
        case "POST /v1/invoices":
            method, path = "POST", "/v1/invoices"
            body = (
                '{"number":"SOAK-{n}","amount":"250.00","currency":"USD",'
                '"due_date":"2024-01-30","customer":{"name":"Soak Debtor {n}",'
                '"email":"soak{n}@debtor.example.com","phone":"+14155550100",'
                '"timezone":"America/New_York"}}'
            )
        case "PUT /v1/invoices/{id}":
            method, path = "PUT", f"/v1/invoices/{invoice}"
            body = '{"metadata":{"soak":"{n}"}}'
        case "POST /v1/send-email":
            method, path = "POST", "/v1/send-email"
            body = (
                f'{{"template_id":"{fx.template_id}",'
                '"recipient_email":"mail{n}@debtor.example.com","recipient_name":"Mail {n}",'
                '"variables":{"customer_name":"Mail {n}","invoice_number":"INV-M{n}",'
                '"amount":"100.00","due_date":"2024-01-30"}}'
            )
        case "POST /v1/calls":
            method, path = "POST", "/v1/calls"
            body = (
                f'{{"phone_number":"+14155550100","invoice_id":"{fx.fresh_invoices[i]}",'
                f'"voice_agent_id":"{agent}"}}'
            )
        case _:
            raise ValueError(f"unknown request kind {kind!r}")
    out: dict[str, Any] = {"kind": kind, "method": method, "path": path}
    if body is not None:
        out["body"] = body
    return out


def pool(plan: list[str], fx: Fixture) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    fresh = 0
    out = []
    for kind in plan:
        if kind in FRESH:
            out.append(request(kind, fresh, fx))
            fresh += 1
        else:
            out.append(request(kind, seen[kind], fx))
        seen[kind] += 1
    return out
