"""One exception class per error code of the API, under ``CrediraError``.

Each carries what the error envelope says (``code``, ``message``, ``details``, ``field``), the
request id of the reply (``request_id``, to quote to an operator), the HTTP status and the
reply's headers. ``APIConnectionError`` is a request that never got a reply.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CrediraError(Exception):
    """An error reply of the API (or a connection failure, ``APIConnectionError``)."""

    code: str = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: str | None = None,
        field: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        if code is not None:
            self.code = code
        self.details = details
        self.field = field
        self.request_id = request_id
        self.headers: Mapping[str, str] = headers or {}
        self.body = body

    def __str__(self) -> str:
        text = f"{self.code}: {self.message}"
        if self.details:
            text += f" ({self.details})"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text


class APIConnectionError(CrediraError):
    """No reply: the connection failed, broke or timed out (after the retries)."""

    code = "CONNECTION_ERROR"


class InvalidRequestError(CrediraError):
    code = "INVALID_REQUEST"


class UnauthorizedError(CrediraError):
    code = "UNAUTHORIZED"


class ForbiddenError(CrediraError):
    code = "FORBIDDEN"


class NotFoundError(CrediraError):
    code = "NOT_FOUND"


class MethodNotAllowedError(CrediraError):
    code = "METHOD_NOT_ALLOWED"


class ConflictError(CrediraError):
    code = "CONFLICT"


class PreconditionFailedError(CrediraError):
    code = "PRECONDITION_FAILED"


class PayloadTooLargeError(CrediraError):
    code = "PAYLOAD_TOO_LARGE"


class ValidationError(CrediraError):
    code = "VALIDATION_ERROR"


class RateLimitedError(CrediraError):
    code = "RATE_LIMITED"


class HeadersTooLargeError(CrediraError):
    code = "HEADERS_TOO_LARGE"


class InternalError(CrediraError):
    code = "INTERNAL_ERROR"


class ServiceUnavailableError(CrediraError):
    code = "SERVICE_UNAVAILABLE"


BY_CODE: dict[str, type[CrediraError]] = {
    cls.code: cls
    for cls in (
        InvalidRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PreconditionFailedError,
        PayloadTooLargeError,
        ValidationError,
        RateLimitedError,
        HeadersTooLargeError,
        InternalError,
        ServiceUnavailableError,
    )
}
# A reply without our envelope (a proxy's page): the class its status would have.
BY_STATUS: dict[int, type[CrediraError]] = {
    400: InvalidRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitedError,
    431: HeadersTooLargeError,
    500: InternalError,
    503: ServiceUnavailableError,
}


def from_reply(status: int, headers: Mapping[str, str], body: Any) -> CrediraError:
    """The exception for an error reply: by the envelope's ``error.code``, else by status."""
    error = body.get("error") if isinstance(body, dict) else None
    meta = body.get("meta") if isinstance(body, dict) else None
    request_id = meta.get("request_id") if isinstance(meta, dict) else None
    request_id = request_id or headers.get("x-request-id")
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        code = error["code"]
        cls = BY_CODE.get(code, CrediraError)
        return cls(
            str(error.get("message", "")),
            status=status,
            code=code,
            details=error.get("details"),
            field=error.get("field"),
            request_id=request_id,
            headers=headers,
            body=body,
        )
    cls = BY_STATUS.get(status, InternalError if status >= 500 else CrediraError)
    return cls(
        f"HTTP {status} without an error envelope",
        status=status,
        request_id=request_id,
        headers=headers,
        body=body,
    )


__all__ = [
    "APIConnectionError",
    "ConflictError",
    "CrediraError",
    "ForbiddenError",
    "HeadersTooLargeError",
    "InternalError",
    "InvalidRequestError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "UnauthorizedError",
    "ValidationError",
    "from_reply",
]
