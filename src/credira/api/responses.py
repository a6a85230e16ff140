"""OpenAPI declarations of the envelope, so every error reply is documented per route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(examples=["INVALID_REQUEST"])
    message: str = Field(examples=["Invalid request data"])
    details: str | None = Field(default=None, description="Why a value was refused")
    field: str | None = Field(default=None, description="The refused field, dotted")


class Meta(BaseModel):
    timestamp: str = Field(examples=["2024-01-15T10:30:00Z"])
    request_id: str = Field(examples=["req_123456789"])


class ErrorEnvelope(BaseModel):
    success: bool = Field(examples=[False])
    error: ErrorBody
    meta: Meta


_DESCRIPTIONS = {
    400: "INVALID_REQUEST: malformed JSON, missing or unknown field, bad id format",
    401: "UNAUTHORIZED: missing, unknown or revoked API key",
    403: "FORBIDDEN: the key lacks the permission",
    404: "NOT_FOUND: no such object in the caller's account",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT: the object's state forbids the change, or an idempotency key was reused",
    412: "PRECONDITION_FAILED: If-Match does not match the current ETag",
    413: "PAYLOAD_TOO_LARGE: body over the configured limit",
    422: "VALIDATION_ERROR: a field has a bad value; details says which and why",
    429: "RATE_LIMITED: too many requests",
    500: "INTERNAL_ERROR: unexpected fault, logged with the request id",
    503: "SERVICE_UNAVAILABLE: the database is unreachable",
}


def errors_for(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Declare the envelope for each listed status plus the ones every route can return."""
    every = {400, 401, 422, 429, 500, 503} | set(statuses)
    return {
        status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[status]}
        for status in sorted(every)
    }
