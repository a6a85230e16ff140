"""The documented call examples (CREDIRA_DOCS.md §2.4 to §2.7), copied verbatim, and helpers
that compare our replies with them and drive a call through the public API."""

from __future__ import annotations

from typing import Any

from tests.callout.helpers import parse_time
from tests.shapes import assert_same_shape
from tests.support import Tenant, eventually

__all__ = ["assert_same_shape", "parse_time"]

META = {"timestamp": "2024-01-15T10:30:00Z", "request_id": "req_123456789"}

# §2.7 POST /calls: the request body and the success reply.
CREATE_REQUEST: dict[str, Any] = {
    "phone_number": "+1234567890",
    "invoice_id": "inv_987654321",
    "voice_agent_id": "agent_456789123",
    "call_purpose": "payment_reminder",
    "customer_name": "John Doe",
    "scheduled_time": "2024-01-15T14:30:00Z",
    "metadata": {"campaign_id": "camp_123", "department": "billing", "priority": "high"},
}
CREATE_REPLY: dict[str, Any] = {
    "success": True,
    "data": {
        "id": "call_123456789",
        "invoice_id": "inv_987654321",
        "phone_number": "+1234567890",
        "voice_agent_id": "agent_456789123",
        "status": "initiated",
        "call_purpose": "payment_reminder",
        "customer_name": "John Doe",
        "scheduled_time": "2024-01-15T14:30:00Z",
        "account_id": "acc_789123456",
        "created_time": "2024-01-15T10:30:00Z",
        "estimated_duration": 180,
        "call_priority": "high",
        "metadata": {"campaign_id": "camp_123", "department": "billing", "priority": "high"},
    },
    "meta": {**META, "message": "Call has been initiated successfully"},
}

# §2.5 GET /calls?invoice_id=: one call object of the list.
LIST_ITEM: dict[str, Any] = {
    "id": "call_123456789",
    "invoice_id": "inv_987654321",
    "duration": 180,
    "status": "completed",
    "from": "+1234567890",
    "to": "+0987654321",
    "transcription_url": "https://api.credira.com/transcriptions/call_123456789.txt",
    "call_recording_url": "https://api.credira.com/recordings/call_123456789.mp3",
    "confidence_score": 0.95,
    "voice_agent_id": "agent_456789123",
    "timezone": "America/New_York",
    "account_id": "acc_789123456",
    "created_time": "2024-01-15T10:30:00Z",
}
LIST_REPLY: dict[str, Any] = {
    "success": True,
    "data": [LIST_ITEM],
    "meta": {**META, "total_calls": 1},
}

# The cursor-pagination extension (API.md §3) adds meta.has_more to every list reply.
LIST_EXTRAS = frozenset({"$.meta.has_more"})

# §2.6 GET /calls/{id}: the list fields, then the detail fields.
DETAIL_METADATA = {"campaign_id": "camp_123", "customer_id": "cust_456", "department": "billing"}
DETAIL_REPLY: dict[str, Any] = {
    "success": True,
    "data": {
        **LIST_ITEM,
        "updated_time": "2024-01-15T10:33:00Z",
        "start_time": "2024-01-15T10:30:00Z",
        "end_time": "2024-01-15T10:33:00Z",
        "call_type": "outbound",
        "cost": 0.15,
        "currency": "USD",
        "quality_score": 0.92,
        "sentiment_score": 0.75,
        "keywords": ["payment", "invoice", "overdue"],
        "summary": "Customer called regarding overdue invoice payment. "
        "Payment scheduled for next week.",
        "tags": ["payment-reminder", "customer-service"],
        "metadata": DETAIL_METADATA,
    },
    "meta": META,
}
# Our additions to the single-call object (API.md allows fields beyond the documented ones).
DETAIL_EXTRAS = frozenset({"$.data.outcome", "$.data.analysis_source", "$.data.callout_id"})

# §2.4 GET /callouts/{id}/response, with its call entry only: email attempts do not exist yet.
RESPONSE_CALL_ENTRY: dict[str, Any] = {
    "attempt_id": "attempt_001",
    "type": "call",
    "status": "completed",
    "timestamp": "2024-01-20T10:00:00Z",
    "duration": 180,
    "call_recording_url": "https://api.credira.com/recordings/callout_123456789_attempt_001.mp3",
    "transcription_url": "https://api.credira.com/transcriptions/callout_123456789_attempt_001.txt",
    "confidence_score": 0.95,
    "sentiment_score": 0.75,
    "keywords": ["payment", "invoice", "overdue"],
    "summary": "Customer acknowledged the invoice and agreed to pay by end of week",
    "voice_agent_id": "agent_456789123",
}
RESPONSE_REPLY: dict[str, Any] = {
    "success": True,
    "data": {
        "callout_id": "callout_123456789",
        "status": "completed",
        "total_attempts": 3,
        "successful_attempts": 2,
        "responses": [RESPONSE_CALL_ENTRY],
        "analytics": {
            "total_duration": 180,
            "average_confidence": 0.95,
            "sentiment_analysis": "positive",
            "key_topics": ["payment", "invoice", "overdue"],
            "customer_engagement": "high",
        },
        "created_time": "2024-01-19T09:00:00Z",
        "completed_time": "2024-01-20T12:00:00Z",
    },
    "meta": META,
}


def response_extras(count: int) -> frozenset[str]:
    """Our additions to each call entry of the response report: its call and outcome."""
    return frozenset(
        f"$.data.responses[{i}].{key}" for i in range(count) for key in ("call_id", "outcome")
    )


def phone(digits: str) -> str:
    """A US number whose last two digits choose the simulator's scenario."""
    return f"+141555501{digits}"


def call_request(
    invoice: dict[str, Any], agent: dict[str, Any], **overrides: Any
) -> dict[str, Any]:
    """The documented request body with our invoice and agent in place of the example ids."""
    return {
        **CREATE_REQUEST,
        "invoice_id": invoice["id"],
        "voice_agent_id": agent["id"],
        **overrides,
    }


async def call_status(tenant: Tenant, call_id: str, *statuses: str) -> dict[str, Any]:
    """The call once it shows one of ``statuses``."""

    async def check() -> dict[str, Any] | None:
        data: dict[str, Any] = (await tenant.ok("GET", f"/v1/calls/{call_id}"))["data"]
        return data if data["status"] in statuses else None

    found: dict[str, Any] = await eventually(check, within=15)
    return found


async def finished_callout(tenant: Tenant, callout_id: str) -> dict[str, Any]:
    """The callout once it is completed, failed or cancelled."""

    async def check() -> dict[str, Any] | None:
        data: dict[str, Any] = (await tenant.ok("GET", f"/v1/callouts/{callout_id}"))["data"]
        return data if data["status"] in ("completed", "failed", "cancelled") else None

    found: dict[str, Any] = await eventually(check, within=15)
    return found
