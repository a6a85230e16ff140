"""The callout response report: every attempt of a callout and what they add up to."""

from __future__ import annotations

from collections import Counter
from typing import Any

from credira.call import service as call_service
from credira.kit.clock import format_time
from credira.models import Call, Callout


def _sentiment_label(score: float | None) -> str | None:
    if score is None:
        return None
    if score >= 0.6:
        return "positive"
    if score <= 0.4:
        return "negative"
    return "neutral"


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


def build(callout: Callout, calls: list[Call], public_url: str) -> dict[str, Any]:
    responses = [_call_entry(c, public_url) for c in calls]
    answered = [c for c in calls if c.answered]
    confidences = [c.confidence_score for c in answered if c.confidence_score is not None]
    sentiments = [c.sentiment_score for c in answered if c.sentiment_score is not None]
    topics = Counter(k for c in answered for k in c.keywords)
    average_sentiment = sum(sentiments) / len(sentiments) if sentiments else None
    total_duration = sum(c.duration or 0 for c in calls)
    if answered and total_duration >= 60:
        engagement = "high"
    elif answered:
        engagement = "medium"
    else:
        engagement = "low" if calls else "none"
    return {
        "callout_id": callout.id,
        "status": callout.status,
        "total_attempts": len(responses),
        "successful_attempts": len(answered),
        "responses": responses,
        "analytics": {
            "total_duration": total_duration,
            "average_confidence": round(sum(confidences) / len(confidences), 2)
            if confidences
            else None,
            "sentiment_analysis": _sentiment_label(average_sentiment),
            "key_topics": [k for k, _ in topics.most_common(5)],
            "customer_engagement": engagement,
        },
        "created_time": format_time(callout.created_time),
        "completed_time": format_time(callout.completed_time),
    }
