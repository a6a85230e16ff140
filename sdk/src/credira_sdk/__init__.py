"""The Python client of the Credira API.

    from credira_sdk import Client

    with Client("credira_sk_...", base_url="http://127.0.0.1:8000") as credira:
        invoice = credira.invoices.create(number="INV-1", amount="12.50", ...)
        for callout in credira.callouts.iter(invoice_id=invoice["id"]):
            ...

``AsyncClient`` is the same with ``await``. Errors are ``credira_sdk.errors`` classes, one per
error code; ``credira_sdk.webhooks.verify`` checks a webhook's signature.
"""

from credira_sdk import errors, models, webhooks
from credira_sdk._async_client import AsyncClient
from credira_sdk._core import Page, Retries, __version__
from credira_sdk._sync_client import Client
from credira_sdk.errors import (
    APIConnectionError,
    ConflictError,
    CrediraError,
    ForbiddenError,
    HeadersTooLargeError,
    InternalError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
    ValidationError,
)

__all__ = [
    "APIConnectionError",
    "AsyncClient",
    "Client",
    "ConflictError",
    "CrediraError",
    "ForbiddenError",
    "HeadersTooLargeError",
    "InternalError",
    "InvalidRequestError",
    "MethodNotAllowedError",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "RateLimitedError",
    "Retries",
    "ServiceUnavailableError",
    "UnauthorizedError",
    "ValidationError",
    "__version__",
    "errors",
    "models",
    "webhooks",
]
