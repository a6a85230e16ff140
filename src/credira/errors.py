"""The error hierarchy: every failure a client can see maps to one envelope code and status.

Services raise these; one handler (``credira.http.errors``) renders the envelope. An expected
failure is never a 500.
"""

from __future__ import annotations

from typing import ClassVar


class CrediraError(Exception):
    """Root of every error that reaches a client as ``{"success": false, "error": ...}``."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "An unexpected error occurred"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: str | None = None,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        # The refused field, dotted (``target_contact.phone``), shown as ``error.field``.
        self.field = field
        self.headers = headers or {}
        super().__init__(self.message)


class InvalidRequest(CrediraError):
    code = "INVALID_REQUEST"
    status = 400
    default_message = "Invalid request data"


class ValidationFailed(CrediraError):
    code = "VALIDATION_ERROR"
    status = 422
    default_message = "Invalid field value"


class Unauthorized(CrediraError):
    code = "UNAUTHORIZED"
    status = 401
    default_message = "Invalid or missing API key"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(CrediraError):
    code = "FORBIDDEN"
    status = 403
    default_message = "You don't have permission to perform this action"


class NotFound(CrediraError):
    code = "NOT_FOUND"
    status = 404
    default_message = "Resource not found"


class MethodNotAllowed(CrediraError):
    code = "METHOD_NOT_ALLOWED"
    status = 405
    default_message = "Method not allowed"


class Conflict(CrediraError):
    code = "CONFLICT"
    status = 409
    default_message = "The request conflicts with the current state"


class PreconditionFailed(CrediraError):
    code = "PRECONDITION_FAILED"
    status = 412
    default_message = "If-Match does not match the current ETag of the resource"


class PayloadTooLarge(CrediraError):
    code = "PAYLOAD_TOO_LARGE"
    status = 413
    default_message = "Request body is too large"


class HeadersTooLarge(CrediraError):
    """Refused by the HTTP server itself, before the request reaches the application."""

    code = "HEADERS_TOO_LARGE"
    status = 431
    default_message = "Request headers are too large"


class RateLimited(CrediraError):
    code = "RATE_LIMITED"
    status = 429
    default_message = "Rate limit exceeded"


class InternalError(CrediraError):
    pass


class ServiceUnavailable(CrediraError):
    code = "SERVICE_UNAVAILABLE"
    status = 503
    default_message = "The service is temporarily unavailable; retry shortly"


ALL_ERRORS: tuple[type[CrediraError], ...] = (
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    HeadersTooLarge,
    ValidationFailed,
    RateLimited,
    InternalError,
    ServiceUnavailable,
)
