"""The call as the API shows it (also each call event's ``data``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from credira.kit.clock import format_time
from credira.models import Call


def transcription_url(call: Call, public_url: str) -> str | None:
    if not call.transcript:
        return None
    return f"{public_url.rstrip('/')}/transcriptions/{call.id}.txt"


def recording_url(call: Call, public_url: str) -> str | None:
    if not call.recording_path:
        return None
    return f"{public_url.rstrip('/')}/recordings/{call.id}{Path(call.recording_path).suffix}"


def to_read(call: Call, public_url: str) -> dict[str, Any]:
    """The documented call object of the list endpoint."""
    return {
        "id": call.id,
        "invoice_id": call.invoice_id,
        "duration": call.duration,
        "status": call.status,
        "from": call.from_number,
        "to": call.to_number,
        "transcription_url": transcription_url(call, public_url),
        "call_recording_url": recording_url(call, public_url),
        "confidence_score": call.confidence_score,
        "voice_agent_id": call.voice_agent_id,
        "timezone": call.timezone,
        "account_id": call.account_id,
        "created_time": format_time(call.created_time),
    }


def to_detail(call: Call, public_url: str) -> dict[str, Any]:
    """The documented single-call object: the list fields, then the detail fields."""
    data = to_read(call, public_url)
    data.update(
        {
            "updated_time": format_time(call.updated_time),
            "start_time": format_time(call.start_time),
            "end_time": format_time(call.end_time),
            "call_type": call.call_type,
            "cost": float(call.cost) if call.cost is not None else None,
            "currency": call.currency,
            "quality_score": call.quality_score,
            "sentiment_score": call.sentiment_score,
            "keywords": list(call.keywords),
            "summary": call.summary,
            "tags": list(call.tags),
            "metadata": call.metadata_,
            # Beyond the documented fields: what the call decided, and its callout.
            "outcome": call.outcome,
            "analysis_source": call.analysis_source,
            "callout_id": call.callout_id,
        }
    )
    return data
