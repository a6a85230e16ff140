# ruff: noqa: UP013 - the functional form: some keys (``from``) are not identifiers
"""Request bodies and replies of the Credira API as plain ``TypedDict``s.

Generated from ``openapi.json`` by ``sdk/tools/generate_models.py``; do not edit by hand.
``tests/sdk/test_models.py`` fails when this file and the document disagree.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, Required, TypeAlias, TypedDict

Locale: TypeAlias = str
Phone: TypeAlias = str
Amount: TypeAlias = float | str
Metadata: TypeAlias = dict[str, Any]
Time: TypeAlias = str
Email: TypeAlias = str
Currency: TypeAlias = str
TimeZoneName: TypeAlias = str
Date: TypeAlias = str
DeliveryStatus: TypeAlias = Literal["pending", "delivered", "failed"]

SettlementRead = TypedDict(
    "SettlementRead",
    {
        "max_promise_days": Required[int],
        "min_promise_percent": Required[int],
        "allow_plans": Required[bool],
        "max_instalments": Required[int],
        "min_instalment": Required[str],
        "max_plan_days": Required[int],
    },
)

OutreachSettingsRead = TypedDict(
    "OutreachSettingsRead",
    {
        "max_call_attempts": Required[int],
        "retry_minutes": Required[list[int]],
        "observe_holidays": Required[bool],
        "weekly_contacts": Required[int],
        "locale": Required[str],
        "daily_call_cap": Required[int],
        "daily_email_cap": Required[int],
        "third_party_collector": Required[bool],
        "callback_number": Required[str | None],
        "settlement": Required[SettlementRead],
    },
)

AccountRead = TypedDict(
    "AccountRead",
    {
        "id": Required[str],
        "name": Required[str],
        "created_time": Required[str],
        "settings": Required[OutreachSettingsRead],
    },
)

SettlementUpdate = TypedDict(
    "SettlementUpdate",
    {
        "max_promise_days": NotRequired[int | None],
        "min_promise_percent": NotRequired[int | None],
        "allow_plans": NotRequired[bool | None],
        "max_instalments": NotRequired[int | None],
        "min_instalment": NotRequired[str | None],
        "max_plan_days": NotRequired[int | None],
    },
)

AccountSettingsUpdate = TypedDict(
    "AccountSettingsUpdate",
    {
        "max_call_attempts": NotRequired[int | None],
        "retry_minutes": NotRequired[list[int] | None],
        "observe_holidays": NotRequired[bool | None],
        "weekly_contacts": NotRequired[int | None],
        "locale": NotRequired[Locale | None],
        "daily_call_cap": NotRequired[int | None],
        "daily_email_cap": NotRequired[int | None],
        "third_party_collector": NotRequired[bool | None],
        "callback_number": NotRequired[Phone | None],
        "settlement": NotRequired[SettlementUpdate | None],
    },
)

ActionsIn = TypedDict(
    "ActionsIn",
    {
        "calls_enabled": NotRequired[bool | None],
        "emails_enabled": NotRequired[bool | None],
        "voice_agent_id": NotRequired[str | None],
    },
)

ActivityStatsRead = TypedDict(
    "ActivityStatsRead",
    {
        "total_calls_made": Required[int],
        "total_emails_sent": Required[int],
        "total_callouts_created": Required[int],
        "last_activity": Required[str | None],
    },
)

AssociatedResources = TypedDict(
    "AssociatedResources",
    {
        "calls": Required[int],
        "emails": Required[int],
        "callouts": Required[int],
    },
)

AttemptRead = TypedDict(
    "AttemptRead",
    {
        "time": Required[str],
        "status_code": Required[int | None],
        "latency_ms": Required[int],
        "response": Required[str],
        "error": Required[str | None],
    },
)

CallAttemptRead = TypedDict(
    "CallAttemptRead",
    {
        "attempt_id": Required[str],
        "type": Required[Literal["call"]],
        "status": Required[str],
        "timestamp": Required[str],
        "duration": Required[int | None],
        "call_recording_url": Required[str | None],
        "transcription_url": Required[str | None],
        "confidence_score": Required[float | None],
        "sentiment_score": Required[float | None],
        "keywords": Required[list[str]],
        "summary": Required[str | None],
        "voice_agent_id": Required[str | None],
        "call_id": Required[str],
        "outcome": Required[str | None],
    },
)

CallCreate = TypedDict(
    "CallCreate",
    {
        "phone_number": Required[Phone],
        "invoice_id": Required[str],
        "voice_agent_id": Required[str],
        "call_purpose": NotRequired[
            Literal["payment_reminder", "follow_up", "verification"] | None
        ],
        "scheduled_time": NotRequired[Time | None],
        "customer_name": NotRequired[str | None],
        "metadata": NotRequired[Metadata | None],
    },
)

CallCreated = TypedDict(
    "CallCreated",
    {
        "id": Required[str],
        "invoice_id": Required[str],
        "phone_number": Required[str],
        "voice_agent_id": Required[str | None],
        "status": Required[
            Literal[
                "initiated",
                "ringing",
                "in_progress",
                "completed",
                "no_answer",
                "busy",
                "failed",
                "voicemail",
                "cancelled",
            ]
        ],
        "call_purpose": Required[str],
        "customer_name": Required[str | None],
        "scheduled_time": Required[str],
        "account_id": Required[str],
        "created_time": Required[str],
        "estimated_duration": Required[int],
        "call_priority": Required[str],
        "metadata": Required[dict[str, Any]],
    },
)

CallDetailRead = TypedDict(
    "CallDetailRead",
    {
        "id": Required[str],
        "invoice_id": Required[str],
        "duration": Required[int | None],
        "status": Required[
            Literal[
                "initiated",
                "ringing",
                "in_progress",
                "completed",
                "no_answer",
                "busy",
                "failed",
                "voicemail",
                "cancelled",
            ]
        ],
        "from": Required[str | None],
        "to": Required[str],
        "transcription_url": Required[str | None],
        "call_recording_url": Required[str | None],
        "confidence_score": Required[float | None],
        "voice_agent_id": Required[str | None],
        "timezone": Required[str | None],
        "account_id": Required[str],
        "created_time": Required[str],
        "updated_time": Required[str],
        "start_time": Required[str | None],
        "end_time": Required[str | None],
        "call_type": Required[str],
        "cost": Required[float | None],
        "currency": Required[str | None],
        "quality_score": Required[float | None],
        "sentiment_score": Required[float | None],
        "keywords": Required[list[str]],
        "summary": Required[str | None],
        "tags": Required[list[str]],
        "metadata": Required[dict[str, Any]],
        "outcome": Required[str | None],
        "analysis_source": Required[Literal["llm", "rules"] | None],
        "callout_id": Required[str],
    },
)

CallRead = TypedDict(
    "CallRead",
    {
        "id": Required[str],
        "invoice_id": Required[str],
        "duration": Required[int | None],
        "status": Required[
            Literal[
                "initiated",
                "ringing",
                "in_progress",
                "completed",
                "no_answer",
                "busy",
                "failed",
                "voicemail",
                "cancelled",
            ]
        ],
        "from": Required[str | None],
        "to": Required[str],
        "transcription_url": Required[str | None],
        "call_recording_url": Required[str | None],
        "confidence_score": Required[float | None],
        "voice_agent_id": Required[str | None],
        "timezone": Required[str | None],
        "account_id": Required[str],
        "created_time": Required[str],
    },
)

CalloutActionsRead = TypedDict(
    "CalloutActionsRead",
    {
        "calls_enabled": Required[bool],
        "emails_enabled": Required[bool],
        "voice_agent_id": Required[str | None],
    },
)

CalloutAnalyticsRead = TypedDict(
    "CalloutAnalyticsRead",
    {
        "total_duration": Required[int],
        "average_confidence": Required[float | None],
        "sentiment_analysis": Required[str | None],
        "key_topics": Required[list[str]],
        "customer_engagement": Required[Literal["high", "medium", "low", "none"]],
    },
)

CalloutCancel = TypedDict(
    "CalloutCancel",
    {
        "reason": NotRequired[str | None],
    },
)

CalloutContactRead = TypedDict(
    "CalloutContactRead",
    {
        "name": Required[str | None],
        "email": Required[str | None],
        "phone": Required[str | None],
    },
)

ContactIn = TypedDict(
    "ContactIn",
    {
        "name": NotRequired[str | None],
        "email": NotRequired[Email | None],
        "phone": NotRequired[Phone | None],
    },
)

CalloutCreate = TypedDict(
    "CalloutCreate",
    {
        "invoice_id": Required[str],
        "scheduled_time": NotRequired[Time | None],
        "type": NotRequired[Literal["payment_reminder", "follow_up", "verification"] | None],
        "priority": NotRequired[Literal["low", "medium", "high", "urgent"] | None],
        "target_contact": NotRequired[ContactIn | None],
        "actions": NotRequired[ActionsIn | None],
        "metadata": NotRequired[Metadata | None],
    },
)

CalloutDeletedItems = TypedDict(
    "CalloutDeletedItems",
    {
        "callout": Required[bool],
        "recordings": Required[int],
        "transcriptions": Required[int],
        "analytics": Required[bool],
    },
)

CalloutDeleted = TypedDict(
    "CalloutDeleted",
    {
        "id": Required[str],
        "deleted": Required[Literal[True]],
        "deleted_time": Required[str],
        "deleted_items": Required[CalloutDeletedItems],
    },
)

CalloutRead = TypedDict(
    "CalloutRead",
    {
        "id": Required[str],
        "invoice_id": Required[str],
        "status": Required[Literal["scheduled", "active", "completed", "failed", "cancelled"]],
        "type": Required[Literal["payment_reminder", "follow_up", "verification"]],
        "scheduled_time": Required[str],
        "created_time": Required[str],
        "updated_time": Required[str],
        "target_contact": Required[CalloutContactRead],
        "actions": Required[CalloutActionsRead],
        "account_id": Required[str],
        "priority": Required[Literal["low", "medium", "high", "urgent"]],
        "metadata": Required[dict[str, Any]],
        "next_attempt_time": NotRequired[str],
        "hold_reason": NotRequired[str],
        "status_reason": NotRequired[str],
        "completed_time": NotRequired[str],
    },
)

EmailAttemptRead = TypedDict(
    "EmailAttemptRead",
    {
        "attempt_id": Required[str],
        "type": Required[Literal["email"]],
        "status": Required[str],
        "timestamp": Required[str],
        "email_subject": Required[str],
        "opened_time": Required[str | None],
        "clicked_time": Required[str | None],
        "template_id": Required[str | None],
        "email_id": Required[str],
    },
)

CalloutResponseRead = TypedDict(
    "CalloutResponseRead",
    {
        "callout_id": Required[str],
        "status": Required[Literal["scheduled", "active", "completed", "failed", "cancelled"]],
        "total_attempts": Required[int],
        "successful_attempts": Required[int],
        "responses": Required[list[Any]],
        "analytics": Required[CalloutAnalyticsRead],
        "created_time": Required[str],
        "completed_time": Required[str | None],
    },
)

CalloutUpdate = TypedDict(
    "CalloutUpdate",
    {
        "scheduled_time": NotRequired[Time | None],
        "actions": NotRequired[ActionsIn | None],
        "priority": NotRequired[Literal["low", "medium", "high", "urgent"] | None],
        "target_contact": NotRequired[ContactIn | None],
        "metadata": NotRequired[Metadata | None],
    },
)

StepIn = TypedDict(
    "StepIn",
    {
        "offset_days": Required[int],
        "anchor": NotRequired[Literal["due_date", "previous_step"] | None],
        "time": NotRequired[str | None],
        "window_end": NotRequired[str | None],
        "channels": Required[list[Literal["call", "email"]]],
        "voice_agent_id": NotRequired[str | None],
        "template_id": NotRequired[str | None],
        "priority": NotRequired[Literal["low", "medium", "high", "urgent"] | None],
        "type": NotRequired[Literal["payment_reminder", "follow_up", "verification"] | None],
        "min_amount_due": NotRequired[Amount | None],
        "only_if_previous_unreached": NotRequired[bool | None],
        "metadata": NotRequired[Metadata | None],
    },
)

CollectionPlanCreate = TypedDict(
    "CollectionPlanCreate",
    {
        "name": Required[str],
        "description": NotRequired[str | None],
        "steps": Required[list[StepIn]],
        "min_gap_hours": NotRequired[int | None],
        "skip_weekends": NotRequired[bool | None],
        "skip_holidays": NotRequired[bool | None],
        "is_default": NotRequired[bool | None],
        "metadata": NotRequired[Metadata | None],
    },
)

StepRead = TypedDict(
    "StepRead",
    {
        "offset_days": Required[int],
        "anchor": Required[Literal["due_date", "previous_step"]],
        "time": Required[str],
        "window_end": Required[str | None],
        "channels": Required[list[Literal["call", "email"]]],
        "voice_agent_id": Required[str | None],
        "template_id": Required[str | None],
        "priority": Required[Literal["low", "medium", "high", "urgent"]],
        "type": Required[Literal["payment_reminder", "follow_up", "verification"]],
        "min_amount_due": Required[str | None],
        "only_if_previous_unreached": Required[bool],
        "metadata": Required[dict[str, Any]],
    },
)

CollectionPlanRead = TypedDict(
    "CollectionPlanRead",
    {
        "id": Required[str],
        "account_id": Required[str],
        "name": Required[str],
        "description": Required[str | None],
        "steps": Required[list[StepRead]],
        "min_gap_hours": Required[int],
        "skip_weekends": Required[bool],
        "skip_holidays": Required[bool],
        "is_default": Required[bool],
        "metadata": Required[dict[str, Any]],
        "created_time": Required[str],
        "updated_time": Required[str],
    },
)

CollectionPlanUpdate = TypedDict(
    "CollectionPlanUpdate",
    {
        "name": NotRequired[str | None],
        "description": NotRequired[str | None],
        "steps": NotRequired[list[StepIn] | None],
        "min_gap_hours": NotRequired[int | None],
        "skip_weekends": NotRequired[bool | None],
        "skip_holidays": NotRequired[bool | None],
        "is_default": NotRequired[bool | None],
        "metadata": NotRequired[Metadata | None],
    },
)

CustomerIn = TypedDict(
    "CustomerIn",
    {
        "name": Required[str],
        "email": NotRequired[Email | None],
        "phone": NotRequired[Phone | None],
        "timezone": NotRequired[TimeZoneName | None],
    },
)

CustomerUpdate = TypedDict(
    "CustomerUpdate",
    {
        "name": NotRequired[str | None],
        "email": NotRequired[Email | None],
        "phone": NotRequired[Phone | None],
        "timezone": NotRequired[TimeZoneName | None],
    },
)

Deleted = TypedDict(
    "Deleted",
    {
        "id": Required[str],
        "deleted": Required[Literal[True]],
        "deleted_time": Required[str],
    },
)

DeliveryRead = TypedDict(
    "DeliveryRead",
    {
        "id": Required[str],
        "webhook_id": Required[str],
        "event_id": Required[str],
        "event_type": Required[str],
        "object_id": Required[str],
        "status": Required[str],
        "attempt_count": Required[int],
        "attempts": Required[list[AttemptRead]],
        "created_time": Required[str],
        "updated_time": Required[str],
        "next_attempt_time": NotRequired[str],
    },
)

EmailDetailRead = TypedDict(
    "EmailDetailRead",
    {
        "id": Required[str],
        "callout_id": Required[str | None],
        "subject": Required[str],
        "recipient_email": Required[str],
        "recipient_name": Required[str | None],
        "status": Required[
            Literal[
                "scheduled",
                "sending",
                "sent",
                "delivered",
                "bounced",
                "failed",
                "cancelled",
                "unconfirmed",
            ]
        ],
        "template_id": Required[str | None],
        "template_name": Required[str | None],
        "sent_time": Required[str | None],
        "opened_time": Required[str | None],
        "clicked_time": Required[str | None],
        "bounced": Required[bool],
        "unsubscribed": Required[bool],
        "account_id": Required[str],
        "created_time": Required[str],
        "email_type": Required[str],
        "priority": Required[Literal["low", "medium", "high", "urgent"]],
        "metadata": Required[dict[str, Any]],
        "invoice_id": Required[str | None],
        "scheduled_time": Required[str],
        "delivered_time": Required[str | None],
        "updated_time": Required[str],
        "status_reason": Required[str | None],
        "smtp_reply": Required[str | None],
        "message_id": Required[str],
        "tracking_id": Required[str],
        "attempts": Required[int],
    },
)

EmailRead = TypedDict(
    "EmailRead",
    {
        "id": Required[str],
        "callout_id": Required[str | None],
        "subject": Required[str],
        "recipient_email": Required[str],
        "recipient_name": Required[str | None],
        "status": Required[
            Literal[
                "scheduled",
                "sending",
                "sent",
                "delivered",
                "bounced",
                "failed",
                "cancelled",
                "unconfirmed",
            ]
        ],
        "template_id": Required[str | None],
        "template_name": Required[str | None],
        "sent_time": Required[str | None],
        "opened_time": Required[str | None],
        "clicked_time": Required[str | None],
        "bounced": Required[bool],
        "unsubscribed": Required[bool],
        "account_id": Required[str],
        "created_time": Required[str],
        "email_type": Required[str],
        "priority": Required[Literal["low", "medium", "high", "urgent"]],
        "metadata": Required[dict[str, Any]],
    },
)

EmailReconcile = TypedDict(
    "EmailReconcile",
    {
        "outcome": Required[Literal["delivered", "not_delivered"]],
        "note": NotRequired[str | None],
    },
)

EmailScheduled = TypedDict(
    "EmailScheduled",
    {
        "id": Required[str],
        "template_id": Required[str | None],
        "callout_id": Required[str | None],
        "recipient_email": Required[str],
        "recipient_name": Required[str | None],
        "subject": Required[str],
        "status": Required[
            Literal[
                "scheduled",
                "sending",
                "sent",
                "delivered",
                "bounced",
                "failed",
                "cancelled",
                "unconfirmed",
            ]
        ],
        "scheduled_time": Required[str],
        "account_id": Required[str],
        "created_time": Required[str],
        "email_type": Required[str],
        "priority": Required[Literal["low", "medium", "high", "urgent"]],
        "estimated_delivery": Required[str],
        "tracking_id": Required[str],
        "metadata": Required[dict[str, Any]],
    },
)

EmailTemplateCreate = TypedDict(
    "EmailTemplateCreate",
    {
        "name": Required[str],
        "subject": Required[str],
        "html_content": Required[str],
        "text_content": Required[str],
        "category": Required[
            Literal["payment_reminder", "follow_up", "welcome", "notification", "marketing"]
        ],
        "status": NotRequired[Literal["active", "inactive", "draft"] | None],
        "metadata": NotRequired[Metadata | None],
    },
)

EmailTemplateRead = TypedDict(
    "EmailTemplateRead",
    {
        "id": Required[str],
        "account_id": Required[str],
        "name": Required[str],
        "subject": Required[str],
        "category": Required[
            Literal["payment_reminder", "follow_up", "welcome", "notification", "marketing"]
        ],
        "status": Required[Literal["active", "inactive", "draft"]],
        "html_content": Required[str],
        "text_content": Required[str],
        "variables": Required[list[str]],
        "created_time": Required[str],
        "updated_time": Required[str],
        "created_by": Required[str | None],
        "usage_count": Required[int],
        "last_used": Required[str | None],
        "metadata": Required[dict[str, Any]],
    },
)

EmailTemplateUpdate = TypedDict(
    "EmailTemplateUpdate",
    {
        "name": NotRequired[str | None],
        "subject": NotRequired[str | None],
        "html_content": NotRequired[str | None],
        "text_content": NotRequired[str | None],
        "category": NotRequired[
            Literal["payment_reminder", "follow_up", "welcome", "notification", "marketing"] | None
        ],
        "status": NotRequired[Literal["active", "inactive", "draft"] | None],
        "metadata": NotRequired[Metadata | None],
    },
)

ErrorBody = TypedDict(
    "ErrorBody",
    {
        "code": Required[str],
        "message": Required[str],
        "details": NotRequired[str | None],
        "field": NotRequired[str | None],
    },
)

EventRead = TypedDict(
    "EventRead",
    {
        "id": Required[str],
        "type": Required[str],
        "created_time": Required[str],
        "object_id": Required[str],
        "invoice_id": NotRequired[str],
        "callout_id": NotRequired[str],
        "data": Required[dict[str, Any]],
    },
)

HealthRead = TypedDict(
    "HealthRead",
    {
        "status": Required[Literal["ok"]],
    },
)

ImportJobRead = TypedDict(
    "ImportJobRead",
    {
        "id": Required[str],
        "account_id": Required[str],
        "status": Required[Literal["queued", "running", "succeeded", "failed"]],
        "plan_id": Required[str | None],
        "total_rows": Required[int],
        "processed_rows": Required[int],
        "created_rows": Required[int],
        "updated_rows": Required[int],
        "unchanged_rows": Required[int],
        "error": Required[str | None],
        "created_time": Required[str],
        "finished_time": NotRequired[str | None],
    },
)

InvoiceCreate = TypedDict(
    "InvoiceCreate",
    {
        "number": Required[str],
        "amount": Required[Amount],
        "currency": Required[Currency],
        "due_date": Required[Date],
        "customer": Required[CustomerIn],
        "status": NotRequired[Literal["open", "paid", "void", "disputed"] | None],
        "payment_url": NotRequired[str | None],
        "metadata": NotRequired[Metadata | None],
        "plan_id": NotRequired[str | None],
    },
)

InvoiceCustomerRead = TypedDict(
    "InvoiceCustomerRead",
    {
        "name": Required[str],
        "email": Required[str | None],
        "phone": Required[str | None],
        "timezone": Required[str | None],
    },
)

InvoicePlanRead = TypedDict(
    "InvoicePlanRead",
    {
        "status": Required[Literal["active", "paused", "stopped", "completed"]],
        "current_step": Required[int],
        "next_step_time": Required[str | None],
        "paused_until": Required[str | None],
        "reason": Required[str | None],
    },
)

InvoiceRead = TypedDict(
    "InvoiceRead",
    {
        "id": Required[str],
        "account_id": Required[str],
        "number": Required[str],
        "amount": Required[str],
        "currency": Required[str],
        "due_date": Required[str],
        "status": Required[Literal["open", "paid", "void", "disputed"]],
        "status_reason": Required[str | None],
        "customer": Required[InvoiceCustomerRead],
        "payment_url": Required[str | None],
        "promised_date": Required[str | None],
        "metadata": Required[dict[str, Any]],
        "plan_id": Required[str | None],
        "plan": Required[InvoicePlanRead | None],
        "created_time": Required[str],
        "updated_time": Required[str],
    },
)

InvoiceUpdate = TypedDict(
    "InvoiceUpdate",
    {
        "number": NotRequired[str | None],
        "amount": NotRequired[Amount | None],
        "currency": NotRequired[Currency | None],
        "due_date": NotRequired[Date | None],
        "customer": NotRequired[CustomerUpdate | None],
        "status": NotRequired[Literal["open", "paid", "void", "disputed"] | None],
        "status_reason": NotRequired[str | None],
        "payment_url": NotRequired[str | None],
        "metadata": NotRequired[Metadata | None],
        "plan_id": NotRequired[str | None],
    },
)

KeyRotate = TypedDict(
    "KeyRotate",
    {
        "revoke_existing": NotRequired[bool | None],
    },
)

KeyRotated = TypedDict(
    "KeyRotated",
    {
        "id": Required[str],
        "api_key": Required[str | None],
    },
)

PauseIn = TypedDict(
    "PauseIn",
    {
        "until": NotRequired[Time | None],
        "reason": NotRequired[str | None],
    },
)

PreviewIn = TypedDict(
    "PreviewIn",
    {
        "due_date": Required[Date],
        "timezone": NotRequired[TimeZoneName | None],
        "phone": NotRequired[Phone | None],
        "email": NotRequired[Email | None],
        "country": NotRequired[str | None],
        "amount": NotRequired[Amount | None],
        "now": NotRequired[Time | None],
    },
)

ProviderFieldRead = TypedDict(
    "ProviderFieldRead",
    {
        "set": Required[bool],
        "updated_time": NotRequired[str],
    },
)

ProviderSettingsRead = TypedDict(
    "ProviderSettingsRead",
    {
        "provider": Required[Literal["twilio", "telnyx", "vapi", "retell"]],
        "configured": Required[bool],
        "fields": Required[dict[str, ProviderFieldRead]],
        "api_base": Required[str],
        "max_concurrent_calls": Required[int | None],
        "calls_per_second": Required[int | None],
        "callback_url": Required[str],
        "updated_time": NotRequired[str],
    },
)

ProviderSettingsUpdate = TypedDict(
    "ProviderSettingsUpdate",
    {
        "account_sid": NotRequired[str | None],
        "auth_token": NotRequired[str | None],
        "api_key": NotRequired[str | None],
        "connection_id": NotRequired[str | None],
        "public_key": NotRequired[str | None],
        "phone_number_id": NotRequired[str | None],
        "webhook_secret": NotRequired[str | None],
        "agent_id": NotRequired[str | None],
        "api_base": NotRequired[str | None],
        "max_concurrent_calls": NotRequired[int | None],
        "calls_per_second": NotRequired[int | None],
    },
)

ReadyRead = TypedDict(
    "ReadyRead",
    {
        "status": Required[Literal["ready"]],
        "database": Required[Literal["ok"]],
    },
)

ReplyMeta = TypedDict(
    "ReplyMeta",
    {
        "timestamp": Required[str],
        "request_id": Required[str],
        "message": NotRequired[str],
    },
)

ScheduleEntryRead = TypedDict(
    "ScheduleEntryRead",
    {
        "step": Required[int],
        "time": Required[str],
        "local_time": Required[str],
        "timezone": Required[str],
        "channels": Required[list[Literal["call", "email"]]],
        "moved_by": Required[list[str]],
        "blocked": Required[str | None],
        "conditional": Required[bool],
        "call_time": Required[str | None],
        "call_rule": Required[str | None],
        "dropped": Required[list[str]],
    },
)

ScheduleRead = TypedDict(
    "ScheduleRead",
    {
        "invoice_id": Required[str | None],
        "plan_id": Required[str],
        "status": Required[Literal["active", "paused", "stopped", "completed"] | None],
        "entries": Required[list[ScheduleEntryRead]],
    },
)

SecretRotation = TypedDict(
    "SecretRotation",
    {
        "grace_seconds": NotRequired[int | None],
    },
)

SendEmailCreate = TypedDict(
    "SendEmailCreate",
    {
        "template_id": Required[str],
        "recipient_email": Required[Email],
        "recipient_name": NotRequired[str | None],
        "callout_id": NotRequired[str | None],
        "variables": NotRequired[dict[str, str | int | float] | None],
        "scheduled_time": NotRequired[Time | None],
        "priority": NotRequired[Literal["low", "medium", "high", "urgent"] | None],
        "email_type": NotRequired[
            Literal["payment_reminder", "follow_up", "welcome", "notification", "marketing"] | None
        ],
        "metadata": NotRequired[Metadata | None],
    },
)

TestSentRead = TypedDict(
    "TestSentRead",
    {
        "delivery_id": Required[str],
        "event_id": Required[str],
    },
)

UserCreate = TypedDict(
    "UserCreate",
    {
        "email": Required[Email],
        "name": Required[str],
        "company": Required[str],
        "role": NotRequired[str | None],
        "department": NotRequired[str | None],
        "phone": NotRequired[Phone | None],
        "account_id": NotRequired[str | None],
        "permissions": NotRequired[
            list[
                Literal[
                    "calls:read",
                    "calls:write",
                    "emails:read",
                    "emails:write",
                    "callouts:read",
                    "callouts:write",
                    "invoices:read",
                    "invoices:write",
                    "voice_agents:read",
                    "voice_agents:write",
                    "users:read",
                    "users:write",
                    "webhooks:read",
                    "webhooks:write",
                    "plans:read",
                    "plans:write",
                    "events:read",
                ]
            ]
            | None
        ],
        "metadata": NotRequired[Metadata | None],
    },
)

UserCreated = TypedDict(
    "UserCreated",
    {
        "id": Required[str],
        "email": Required[str],
        "name": Required[str],
        "company": Required[str],
        "role": Required[str | None],
        "department": Required[str | None],
        "phone": Required[str | None],
        "api_key": Required[str | None],
        "account_id": Required[str],
        "status": Required[Literal["active", "inactive", "suspended"]],
        "created_time": Required[str],
        "last_login": Required[None],
        "permissions": Required[list[str]],
        "metadata": Required[dict[str, Any]],
    },
)

UserDeletedItems = TypedDict(
    "UserDeletedItems",
    {
        "user_account": Required[bool],
        "api_keys": Required[int],
        "activity_history": Required[bool],
        "associated_resources": Required[AssociatedResources],
    },
)

UserDeleted = TypedDict(
    "UserDeleted",
    {
        "id": Required[str],
        "deleted": Required[Literal[True]],
        "deleted_time": Required[str],
        "deleted_items": Required[UserDeletedItems],
    },
)

UserRead = TypedDict(
    "UserRead",
    {
        "id": Required[str],
        "email": Required[str],
        "name": Required[str],
        "company": Required[str],
        "role": Required[str | None],
        "department": Required[str | None],
        "phone": Required[str | None],
        "account_id": Required[str],
        "status": Required[Literal["active", "inactive", "suspended"]],
        "created_time": Required[str],
        "updated_time": NotRequired[str],
        "last_login": Required[str | None],
        "permissions": Required[list[str]],
        "activity_stats": Required[ActivityStatsRead],
        "metadata": Required[dict[str, Any]],
    },
)

UserUpdate = TypedDict(
    "UserUpdate",
    {
        "name": NotRequired[str | None],
        "role": NotRequired[str | None],
        "department": NotRequired[str | None],
        "phone": NotRequired[Phone | None],
        "status": NotRequired[Literal["active", "inactive", "suspended"] | None],
        "permissions": NotRequired[
            list[
                Literal[
                    "calls:read",
                    "calls:write",
                    "emails:read",
                    "emails:write",
                    "callouts:read",
                    "callouts:write",
                    "invoices:read",
                    "invoices:write",
                    "voice_agents:read",
                    "voice_agents:write",
                    "users:read",
                    "users:write",
                    "webhooks:read",
                    "webhooks:write",
                    "plans:read",
                    "plans:write",
                    "events:read",
                ]
            ]
            | None
        ],
        "metadata": NotRequired[Metadata | None],
    },
)

VoiceAgentCreate = TypedDict(
    "VoiceAgentCreate",
    {
        "name": Required[str],
        "provider": NotRequired[Literal["simulator", "twilio", "telnyx", "vapi", "retell"] | None],
        "mode": NotRequired[Literal["script", "conversation"] | None],
        "voice": NotRequired[str | None],
        "language": NotRequired[str | None],
        "from_number": NotRequired[Phone | None],
        "script": NotRequired[str | None],
        "max_duration": NotRequired[int | None],
        "status": NotRequired[Literal["active", "inactive"] | None],
        "metadata": NotRequired[Metadata | None],
    },
)

VoiceAgentRead = TypedDict(
    "VoiceAgentRead",
    {
        "id": Required[str],
        "account_id": Required[str],
        "name": Required[str],
        "provider": Required[str],
        "mode": Required[str],
        "voice": Required[str],
        "language": Required[str],
        "from_number": Required[str | None],
        "script": Required[str],
        "max_duration": Required[int],
        "status": Required[Literal["active", "inactive"]],
        "metadata": Required[dict[str, Any]],
        "created_time": Required[str],
        "updated_time": Required[str],
    },
)

VoiceAgentUpdate = TypedDict(
    "VoiceAgentUpdate",
    {
        "name": NotRequired[str | None],
        "provider": NotRequired[Literal["simulator", "twilio", "telnyx", "vapi", "retell"] | None],
        "mode": NotRequired[Literal["script", "conversation"] | None],
        "voice": NotRequired[str | None],
        "language": NotRequired[str | None],
        "from_number": NotRequired[Phone | None],
        "script": NotRequired[str | None],
        "max_duration": NotRequired[int | None],
        "status": NotRequired[Literal["active", "inactive"] | None],
        "metadata": NotRequired[Metadata | None],
    },
)

WebhookCreate = TypedDict(
    "WebhookCreate",
    {
        "url": Required[str],
        "event_types": Required[list[str]],
        "description": NotRequired[str | None],
        "enabled": NotRequired[bool | None],
    },
)

WebhookRead = TypedDict(
    "WebhookRead",
    {
        "id": Required[str],
        "account_id": Required[str],
        "url": Required[str],
        "description": Required[str | None],
        "event_types": Required[list[str]],
        "enabled": Required[bool],
        "created_time": Required[str],
        "updated_time": Required[str],
        "disabled_reason": NotRequired[str],
        "previous_secret_expires": NotRequired[str],
    },
)

WebhookSecretRead = TypedDict(
    "WebhookSecretRead",
    {
        "id": Required[str],
        "account_id": Required[str],
        "url": Required[str],
        "description": Required[str | None],
        "event_types": Required[list[str]],
        "enabled": Required[bool],
        "created_time": Required[str],
        "updated_time": Required[str],
        "disabled_reason": NotRequired[str],
        "previous_secret_expires": NotRequired[str],
        "secret": Required[str | None],
    },
)

WebhookUpdate = TypedDict(
    "WebhookUpdate",
    {
        "url": NotRequired[str | None],
        "event_types": NotRequired[list[str] | None],
        "description": NotRequired[str | None],
        "enabled": NotRequired[bool | None],
    },
)

__all__ = [
    "AccountRead",
    "AccountSettingsUpdate",
    "ActionsIn",
    "ActivityStatsRead",
    "Amount",
    "AssociatedResources",
    "AttemptRead",
    "CallAttemptRead",
    "CallCreate",
    "CallCreated",
    "CallDetailRead",
    "CallRead",
    "CalloutActionsRead",
    "CalloutAnalyticsRead",
    "CalloutCancel",
    "CalloutContactRead",
    "CalloutCreate",
    "CalloutDeleted",
    "CalloutDeletedItems",
    "CalloutRead",
    "CalloutResponseRead",
    "CalloutUpdate",
    "CollectionPlanCreate",
    "CollectionPlanRead",
    "CollectionPlanUpdate",
    "ContactIn",
    "Currency",
    "CustomerIn",
    "CustomerUpdate",
    "Date",
    "Deleted",
    "DeliveryRead",
    "DeliveryStatus",
    "Email",
    "EmailAttemptRead",
    "EmailDetailRead",
    "EmailRead",
    "EmailReconcile",
    "EmailScheduled",
    "EmailTemplateCreate",
    "EmailTemplateRead",
    "EmailTemplateUpdate",
    "ErrorBody",
    "EventRead",
    "HealthRead",
    "ImportJobRead",
    "InvoiceCreate",
    "InvoiceCustomerRead",
    "InvoicePlanRead",
    "InvoiceRead",
    "InvoiceUpdate",
    "KeyRotate",
    "KeyRotated",
    "Locale",
    "Metadata",
    "OutreachSettingsRead",
    "PauseIn",
    "Phone",
    "PreviewIn",
    "ProviderFieldRead",
    "ProviderSettingsRead",
    "ProviderSettingsUpdate",
    "ReadyRead",
    "ReplyMeta",
    "ScheduleEntryRead",
    "ScheduleRead",
    "SecretRotation",
    "SendEmailCreate",
    "SettlementRead",
    "SettlementUpdate",
    "StepIn",
    "StepRead",
    "TestSentRead",
    "Time",
    "TimeZoneName",
    "UserCreate",
    "UserCreated",
    "UserDeleted",
    "UserDeletedItems",
    "UserRead",
    "UserUpdate",
    "VoiceAgentCreate",
    "VoiceAgentRead",
    "VoiceAgentUpdate",
    "WebhookCreate",
    "WebhookRead",
    "WebhookSecretRead",
    "WebhookUpdate",
]
