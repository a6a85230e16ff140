"""The callout response report: every attempt of a callout and what they add up to."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.call import repository as call_repository
from credira.call import service as call_service
from credira.callout import service as callout_service
from credira.email import repository as email_repository
from credira.kit.clock import format_time
from credira.models import Call, Callout, Email
from credira.transcript import sentiment_label


def _call_entry(call: Call, public_url: str) -> dict[str, Any]:
    return {
        "attempt_id": call.attempt_id,
        "type": "call",
        "status": call.status,
        "timestamp": format_time(call.placed_time or call.created_time),
        "duration": call.duration,
        "call_recording_url": call_service.recording_url(call, public_url),
        "transcription_url": call_service.transcription_url(call, public_url),
        "confidence_score": call.confidence_score,
        "sentiment_score": call.sentiment_score,
        "keywords": list(call.keywords),
        "summary": call.summary,
        "voice_agent_id": call.voice_agent_id,
        # Beyond the documented fields: the call's id and what the conversation decided.
        "call_id": call.id,
        "outcome": call.outcome,
    }


def _email_entry(email: Email) -> dict[str, Any]:
    return {
        "attempt_id": email.attempt_id,
        "type": "email",
        "status": email.status,
        "timestamp": format_time(email.sent_time or email.created_time),
        "email_subject": email.subject,
        "opened_time": format_time(email.opened_time),
        "clicked_time": format_time(email.clicked_time),
        "template_id": email.template_id,
        # Beyond the documented fields: the email's id.
        "email_id": email.id,
    }


async def callout_report(
    session: AsyncSession, account_id: str, callout_id: str, public_url: str
) -> dict[str, Any]:
    """The account's callout's response report (``NOT_FOUND`` for an unknown callout)."""
    callout = await callout_service.get(session, account_id, callout_id)
    calls = await call_repository.for_callout(session, callout.id)
    emails = await email_repository.for_callout(session, callout.id)
    return build(callout, calls, public_url, emails)


def build(
    callout: Callout, calls: list[Call], public_url: str, emails: list[Email] | None = None
) -> dict[str, Any]:
    """The report. Attempts are listed in the order they were made, calls and emails mixed."""
    entries = [(c.placed_time or c.created_time, _call_entry(c, public_url)) for c in calls]
    entries += [(e.sent_time or e.created_time, _email_entry(e)) for e in emails or []]
    entries.sort(key=lambda pair: pair[0])
    responses = [entry for _, entry in entries]
    delivered = [e for e in emails or [] if e.status == "delivered"]
    answered = [c for c in calls if c.answered]
    confidences = [c.confidence_score for c in answered if c.confidence_score is not None]
    sentiments = [c.sentiment_score for c in answered if c.sentiment_score is not None]
    topics = Counter(k for c in answered for k in c.keywords)
    average_sentiment = sum(sentiments) / len(sentiments) if sentiments else None
    total_duration = sum(c.duration or 0 for c in calls)
    clicked = any(e.clicked_time for e in emails or [])
    opened = any(e.opened_time for e in emails or [])
    if (answered and total_duration >= 60) or clicked:
        engagement = "high"
    elif answered or opened:
        engagement = "medium"
    else:
        engagement = "low" if responses else "none"
    return {
        "callout_id": callout.id,
        "status": callout.status,
        "total_attempts": len(responses),
        "successful_attempts": len(answered) + len(delivered),
        "responses": responses,
        "analytics": {
            "total_duration": total_duration,
            "average_confidence": round(sum(confidences) / len(confidences), 2)
            if confidences
            else None,
            "sentiment_analysis": sentiment_label(average_sentiment)
            if average_sentiment is not None
            else None,
            "key_topics": [k for k, _ in topics.most_common(5)],
            "customer_engagement": engagement,
        },
        "created_time": format_time(callout.created_time),
        "completed_time": format_time(callout.completed_time),
    }
