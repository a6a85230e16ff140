"""``Client``: every operation of the Credira API as a typed method.

``_async_client.py`` is the source of both clients; ``_sync_client.py`` is written from it by
``sdk/tools/unasync.py`` (no ``async``/``await``, ``Async`` names made plain) and a test fails
when the two differ: add a method to ``_async_client.py``, then run the tool.

A method states its operation in one call, ``self._client._request(METHOD, PATH, ...)`` (or
``_page(PATH, ...)`` for a list, ``_raw(METHOD, PATH)`` for a file), with the path written as
the document writes it (``f"/v1/invoices/{invoice_id}"``): ``tests/sdk/test_coverage.py``
reads those calls to list the operations of ``openapi.json`` the SDK lacks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, Unpack, cast

import httpx

from credira_sdk._core import (
    DEFAULT_TIMEOUT,
    Page,
    Retries,
    __version__,
    api_key_from,
    base_url_from,
    connection_failure,
    decode,
    failure,
    new_idempotency_key,
    page_of,
    query,
)
from credira_sdk.models import (
    AccountRead,
    AccountSettingsUpdate,
    CallCreate,
    CallCreated,
    CallDetailRead,
    CalloutCancel,
    CalloutCreate,
    CalloutDeleted,
    CalloutRead,
    CalloutResponseRead,
    CalloutUpdate,
    CallRead,
    CollectionPlanCreate,
    CollectionPlanRead,
    CollectionPlanUpdate,
    Deleted,
    DeliveryRead,
    EmailDetailRead,
    EmailRead,
    EmailReconcile,
    EmailScheduled,
    EmailTemplateCreate,
    EmailTemplateRead,
    EmailTemplateUpdate,
    EventRead,
    HealthRead,
    ImportJobRead,
    InvoiceCreate,
    InvoiceRead,
    InvoiceUpdate,
    KeyRotate,
    KeyRotated,
    PauseIn,
    PreviewIn,
    ProviderSettingsRead,
    ProviderSettingsUpdate,
    ReadyRead,
    ScheduleRead,
    SecretRotation,
    SendEmailCreate,
    TestSentRead,
    UserCreate,
    UserCreated,
    UserDeleted,
    UserRead,
    UserUpdate,
    VoiceAgentCreate,
    VoiceAgentRead,
    VoiceAgentUpdate,
    WebhookCreate,
    WebhookRead,
    WebhookSecretRead,
    WebhookUpdate,
)

PAGE_SIZE = 100


class Client:
    """A client of one Credira server for one API key.

    ``base_url`` is the server's root (``http://HOST:PORT``, default ``CREDIRA_BASE_URL`` or
    ``http://127.0.0.1:8000``); ``api_key`` defaults to ``CREDIRA_API_KEY``. Requests that get
    no reply, a 429 or a 5xx are retried ``max_retries`` times (``Retries``); every POST carries
    an ``Idempotency-Key`` (yours, or one made for the call) that its retries reuse.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int | None = None,
        retries: Retries | None = None,
        http_client: httpx.Client | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url_from(base_url)
        self.retries = retries or Retries()
        if max_retries is not None:
            self.retries = Retries(max_retries, self.retries.base, self.retries.longest)
        self._headers = {
            "Authorization": f"Bearer {api_key_from(api_key)}",
            "User-Agent": f"credira-sdk-python/{__version__}",
            "Accept": "application/json",
            **(headers or {}),
        }
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self.users = Users(self)
        self.account = Account(self)
        self.invoices = Invoices(self)
        self.voice_agents = VoiceAgents(self)
        self.callouts = Callouts(self)
        self.calls = Calls(self)
        self.email_templates = EmailTemplates(self)
        self.emails = Emails(self)
        self.events = Events(self)
        self.webhooks = Webhooks(self)
        self.providers = Providers(self)
        self.collection_plans = CollectionPlans(self)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- the probes ------------------------------------------------------------------------

    def health(self) -> HealthRead:
        """``GET /health``: the process is up."""
        return cast(HealthRead, self._request("GET", "/health"))

    def ready(self) -> ReadyRead:
        """``GET /ready``: the database answers."""
        return cast(ReadyRead, self._request("GET", "/ready"))

    # -- transport -------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: str | bytes | None = None,
        content_type: str | None = None,
        idempotency_key: str | None = None,
        if_match: str | None = None,
    ) -> httpx.Response:
        """Send with retries; the successful reply, or the error it maps to raised."""
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        if method == "POST":
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        if if_match is not None:
            headers["If-Match"] = if_match
        url = self.base_url + path
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method,
                    url,
                    params=query(**(params or {})),
                    json=json,
                    content=content,
                    headers=headers,
                )
            except httpx.TransportError as exc:
                if attempt >= self.retries.max_retries:
                    raise connection_failure(exc) from exc
                time.sleep(self.retries.delay(attempt))
                attempt += 1
                continue
            if response.is_success:
                return response
            if attempt < self.retries.max_retries and self.retries.retryable_status(
                response.status_code
            ):
                response.read()
                delay = self.retries.delay(attempt, response.headers)
                time.sleep(delay)
                attempt += 1
                continue
            response.read()
            raise failure(response)

    def _request(self, method: str, path: str, **options: Any) -> Any:
        """The ``data`` of the reply's envelope."""
        body = decode(self._send(method, path, **options))
        return body.get("data") if isinstance(body, dict) else body

    def _page(self, path: str, params: Mapping[str, Any]) -> Page[Any]:
        return page_of(decode(self._send("GET", path, params=params)))

    def _raw(self, method: str, path: str) -> httpx.Response:
        return self._send(method, path)

    def _iterate(self, path: str, params: Mapping[str, Any], page_size: int) -> Iterator[Any]:
        cursor: str | None = None
        while True:
            page = self._page(path, {**params, "limit": page_size, "starting_after": cursor})
            for item in page.data:
                yield item
            cursor = page.next_cursor
            if cursor is None:
                return


class Resource:
    def __init__(self, client: Client) -> None:
        self._client = client


class Users(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[UserCreate]
    ) -> UserCreated:
        """Create a user (admin key, or ``users:write``); the reply's ``api_key`` is shown
        once."""
        return cast(
            UserCreated,
            self._client._request("POST", "/v1/users", json=body, idempotency_key=idempotency_key),
        )

    def list(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[UserRead]:
        return self._client._page(
            "/v1/users", query(status=status, limit=limit, starting_after=starting_after)
        )

    def iter(self, *, status: str | None = None, page_size: int = PAGE_SIZE) -> Iterator[UserRead]:
        return self._client._iterate("/v1/users", query(status=status), page_size)

    def get(self, user_id: str) -> UserRead:
        return cast(UserRead, self._client._request("GET", f"/v1/users/{user_id}"))

    def update(
        self, user_id: str, *, if_match: str | None = None, **body: Unpack[UserUpdate]
    ) -> UserRead:
        return cast(
            UserRead,
            self._client._request("PUT", f"/v1/users/{user_id}", json=body, if_match=if_match),
        )

    def delete(self, user_id: str) -> UserDeleted:
        return cast(UserDeleted, self._client._request("DELETE", f"/v1/users/{user_id}"))

    def rotate_key(
        self, user_id: str, *, idempotency_key: str | None = None, **body: Unpack[KeyRotate]
    ) -> KeyRotated:
        """A new key for the user; the old one stops working (at once, or after
        ``grace_seconds`` when given)."""
        return cast(
            KeyRotated,
            self._client._request(
                "POST",
                f"/v1/users/{user_id}/rotate-key",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )


class Account(Resource):
    def get(self) -> AccountRead:
        """The caller's account and its settings."""
        return cast(AccountRead, self._client._request("GET", "/v1/account"))

    def update_settings(
        self, *, if_match: str | None = None, **body: Unpack[AccountSettingsUpdate]
    ) -> AccountRead:
        return cast(
            AccountRead,
            self._client._request("PUT", "/v1/account/settings", json=body, if_match=if_match),
        )


class Invoices(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[InvoiceCreate]
    ) -> InvoiceRead:
        return cast(
            InvoiceRead,
            self._client._request(
                "POST", "/v1/invoices", json=body, idempotency_key=idempotency_key
            ),
        )

    def list(
        self,
        *,
        status: str | None = None,
        number: str | None = None,
        customer_email: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[InvoiceRead]:
        return self._client._page(
            "/v1/invoices",
            query(
                status=status,
                number=number,
                customer_email=customer_email,
                limit=limit,
                starting_after=starting_after,
            ),
        )

    def iter(
        self,
        *,
        status: str | None = None,
        number: str | None = None,
        customer_email: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[InvoiceRead]:
        filters = query(status=status, number=number, customer_email=customer_email)
        return self._client._iterate("/v1/invoices", filters, page_size)

    def get(self, invoice_id: str) -> InvoiceRead:
        return cast(InvoiceRead, self._client._request("GET", f"/v1/invoices/{invoice_id}"))

    def update(
        self, invoice_id: str, *, if_match: str | None = None, **body: Unpack[InvoiceUpdate]
    ) -> InvoiceRead:
        """Change an invoice; ``status`` ``paid``, ``void`` or ``disputed`` cancels its pending
        callouts."""
        return cast(
            InvoiceRead,
            self._client._request(
                "PUT", f"/v1/invoices/{invoice_id}", json=body, if_match=if_match
            ),
        )

    def schedule(self, invoice_id: str) -> ScheduleRead:
        """The invoice's collection schedule: its plan's steps, done and to come."""
        return cast(
            ScheduleRead, self._client._request("GET", f"/v1/invoices/{invoice_id}/schedule")
        )

    def pause(
        self, invoice_id: str, *, idempotency_key: str | None = None, **body: Unpack[PauseIn]
    ) -> InvoiceRead:
        """Pause the invoice's collection plan (until a time, or until resumed)."""
        return cast(
            InvoiceRead,
            self._client._request(
                "POST",
                f"/v1/invoices/{invoice_id}/pause",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )

    def resume(self, invoice_id: str, *, idempotency_key: str | None = None) -> InvoiceRead:
        return cast(
            InvoiceRead,
            self._client._request(
                "POST", f"/v1/invoices/{invoice_id}/resume", idempotency_key=idempotency_key
            ),
        )

    def import_csv(
        self,
        csv: str | bytes,
        *,
        plan_id: str | None = None,
        skip_invalid: bool | None = None,
        idempotency_key: str | None = None,
    ) -> ImportJobRead:
        """Import invoices from a CSV file's text; the reply is the import job to follow."""
        return cast(
            ImportJobRead,
            self._client._request(
                "POST",
                "/v1/invoices/import",
                params=query(plan_id=plan_id, skip_invalid=skip_invalid),
                content=csv,
                content_type="text/csv",
                idempotency_key=idempotency_key,
            ),
        )

    def import_job(self, job_id: str) -> ImportJobRead:
        return cast(ImportJobRead, self._client._request("GET", f"/v1/invoices/import/{job_id}"))


class VoiceAgents(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[VoiceAgentCreate]
    ) -> VoiceAgentRead:
        return cast(
            VoiceAgentRead,
            self._client._request(
                "POST", "/v1/voice-agents", json=body, idempotency_key=idempotency_key
            ),
        )

    def list(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[VoiceAgentRead]:
        return self._client._page(
            "/v1/voice-agents", query(status=status, limit=limit, starting_after=starting_after)
        )

    def iter(
        self, *, status: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[VoiceAgentRead]:
        return self._client._iterate("/v1/voice-agents", query(status=status), page_size)

    def get(self, agent_id: str) -> VoiceAgentRead:
        return cast(VoiceAgentRead, self._client._request("GET", f"/v1/voice-agents/{agent_id}"))

    def update(
        self, agent_id: str, *, if_match: str | None = None, **body: Unpack[VoiceAgentUpdate]
    ) -> VoiceAgentRead:
        return cast(
            VoiceAgentRead,
            self._client._request(
                "PUT", f"/v1/voice-agents/{agent_id}", json=body, if_match=if_match
            ),
        )

    def delete(self, agent_id: str) -> Deleted:
        return cast(Deleted, self._client._request("DELETE", f"/v1/voice-agents/{agent_id}"))


class Callouts(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[CalloutCreate]
    ) -> CalloutRead:
        """Schedule a callout for an invoice (``scheduled_time`` defaults to now)."""
        return cast(
            CalloutRead,
            self._client._request(
                "POST", "/v1/callouts", json=body, idempotency_key=idempotency_key
            ),
        )

    def list(
        self,
        *,
        invoice_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[CalloutRead]:
        """The callouts of an invoice (``invoice_id`` is required by the server)."""
        return self._client._page(
            "/v1/callouts",
            query(invoice_id=invoice_id, status=status, limit=limit, starting_after=starting_after),
        )

    def iter(
        self,
        *,
        invoice_id: str | None = None,
        status: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[CalloutRead]:
        filters = query(invoice_id=invoice_id, status=status)
        return self._client._iterate("/v1/callouts", filters, page_size)

    def get(self, callout_id: str) -> CalloutRead:
        return cast(CalloutRead, self._client._request("GET", f"/v1/callouts/{callout_id}"))

    def update(
        self, callout_id: str, *, if_match: str | None = None, **body: Unpack[CalloutUpdate]
    ) -> CalloutRead:
        return cast(
            CalloutRead,
            self._client._request(
                "PUT", f"/v1/callouts/{callout_id}", json=body, if_match=if_match
            ),
        )

    def delete(self, callout_id: str) -> CalloutDeleted:
        return cast(
            CalloutDeleted,
            self._client._request("DELETE", f"/v1/callouts/{callout_id}"),
        )

    def cancel(
        self, callout_id: str, *, idempotency_key: str | None = None, **body: Unpack[CalloutCancel]
    ) -> CalloutRead:
        return cast(
            CalloutRead,
            self._client._request(
                "POST",
                f"/v1/callouts/{callout_id}/cancel",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )

    def response(self, callout_id: str) -> CalloutResponseRead:
        """Every call and email attempt of the callout, with its analytics."""
        return cast(
            CalloutResponseRead,
            self._client._request("GET", f"/v1/callouts/{callout_id}/response"),
        )


class Calls(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[CallCreate]
    ) -> CallCreated:
        """Place a call now or at ``scheduled_time``."""
        return cast(
            CallCreated,
            self._client._request("POST", "/v1/calls", json=body, idempotency_key=idempotency_key),
        )

    def list(
        self,
        *,
        invoice_id: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[CallRead]:
        return self._client._page(
            "/v1/calls",
            query(invoice_id=invoice_id, limit=limit, starting_after=starting_after),
        )

    def iter(
        self, *, invoice_id: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[CallRead]:
        return self._client._iterate("/v1/calls", query(invoice_id=invoice_id), page_size)

    def get(self, call_id: str) -> CallDetailRead:
        return cast(CallDetailRead, self._client._request("GET", f"/v1/calls/{call_id}"))

    def transcript(self, call_id: str) -> str:
        """The call's transcript as text (``transcription_url``)."""
        name = f"{call_id}.txt"
        return (self._client._raw("GET", f"/transcriptions/{name}")).text

    def recording(self, call_id: str) -> bytes:
        """The call's recording as WAV bytes (``call_recording_url``)."""
        name = f"{call_id}.wav"
        return (self._client._raw("GET", f"/recordings/{name}")).content


class EmailTemplates(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[EmailTemplateCreate]
    ) -> EmailTemplateRead:
        return cast(
            EmailTemplateRead,
            self._client._request(
                "POST", "/v1/email-templates", json=body, idempotency_key=idempotency_key
            ),
        )

    def list(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        category: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[EmailTemplateRead]:
        return self._client._page(
            "/v1/email-templates",
            query(
                account_id=account_id,
                status=status,
                category=category,
                limit=limit,
                starting_after=starting_after,
            ),
        )

    def iter(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        category: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[EmailTemplateRead]:
        filters = query(account_id=account_id, status=status, category=category)
        return self._client._iterate("/v1/email-templates", filters, page_size)

    def get(self, template_id: str) -> EmailTemplateRead:
        return cast(
            EmailTemplateRead,
            self._client._request("GET", f"/v1/email-templates/{template_id}"),
        )

    def update(
        self,
        template_id: str,
        *,
        if_match: str | None = None,
        **body: Unpack[EmailTemplateUpdate],
    ) -> EmailTemplateRead:
        return cast(
            EmailTemplateRead,
            self._client._request(
                "PUT", f"/v1/email-templates/{template_id}", json=body, if_match=if_match
            ),
        )

    def delete(self, template_id: str) -> Deleted:
        return cast(
            Deleted,
            self._client._request("DELETE", f"/v1/email-templates/{template_id}"),
        )


class Emails(Resource):
    def send(
        self, *, idempotency_key: str | None = None, **body: Unpack[SendEmailCreate]
    ) -> EmailScheduled:
        """Render a template with ``variables`` and send it now or at ``scheduled_time``."""
        return cast(
            EmailScheduled,
            self._client._request(
                "POST", "/v1/send-email", json=body, idempotency_key=idempotency_key
            ),
        )

    def list(
        self,
        *,
        callout_id: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[EmailRead]:
        return self._client._page(
            "/v1/emails",
            query(callout_id=callout_id, limit=limit, starting_after=starting_after),
        )

    def iter(
        self, *, callout_id: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[EmailRead]:
        return self._client._iterate("/v1/emails", query(callout_id=callout_id), page_size)

    def get(self, email_id: str) -> EmailDetailRead:
        return cast(EmailDetailRead, self._client._request("GET", f"/v1/emails/{email_id}"))

    def reconcile(
        self, email_id: str, *, idempotency_key: str | None = None, **body: Unpack[EmailReconcile]
    ) -> EmailDetailRead:
        """Settle an ``unconfirmed`` email: ``outcome`` ``delivered`` or ``not_delivered``."""
        return cast(
            EmailDetailRead,
            self._client._request(
                "POST",
                f"/v1/emails/{email_id}/reconcile",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )


class Events(Resource):
    def list(
        self,
        *,
        type: str | None = None,
        object_id: str | None = None,
        invoice_id: str | None = None,
        created_after: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[EventRead]:
        """The account's events, newest first (``type``: comma-separated, ``callout.*``)."""
        return self._client._page(
            "/v1/events",
            query(
                type=type,
                object_id=object_id,
                invoice_id=invoice_id,
                created_after=created_after,
                limit=limit,
                starting_after=starting_after,
            ),
        )

    def iter(
        self,
        *,
        type: str | None = None,
        object_id: str | None = None,
        invoice_id: str | None = None,
        created_after: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[EventRead]:
        filters = query(
            type=type, object_id=object_id, invoice_id=invoice_id, created_after=created_after
        )
        return self._client._iterate("/v1/events", filters, page_size)

    def get(self, event_id: str) -> EventRead:
        return cast(EventRead, self._client._request("GET", f"/v1/events/{event_id}"))


class Webhooks(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[WebhookCreate]
    ) -> WebhookSecretRead:
        """Subscribe a URL to event types (``call.*`` wildcards); the reply's ``secret``
        (``whsec_...``, for ``credira_sdk.webhooks.verify``) is shown once."""
        return cast(
            WebhookSecretRead,
            self._client._request(
                "POST", "/v1/webhooks", json=body, idempotency_key=idempotency_key
            ),
        )

    def list(
        self, *, limit: int | None = None, starting_after: str | None = None
    ) -> Page[WebhookRead]:
        return self._client._page("/v1/webhooks", query(limit=limit, starting_after=starting_after))

    def iter(self, *, page_size: int = PAGE_SIZE) -> Iterator[WebhookRead]:
        return self._client._iterate("/v1/webhooks", {}, page_size)

    def get(self, webhook_id: str) -> WebhookRead:
        return cast(WebhookRead, self._client._request("GET", f"/v1/webhooks/{webhook_id}"))

    def update(
        self, webhook_id: str, *, if_match: str | None = None, **body: Unpack[WebhookUpdate]
    ) -> WebhookRead:
        return cast(
            WebhookRead,
            self._client._request(
                "PUT", f"/v1/webhooks/{webhook_id}", json=body, if_match=if_match
            ),
        )

    def delete(self, webhook_id: str) -> Deleted:
        return cast(Deleted, self._client._request("DELETE", f"/v1/webhooks/{webhook_id}"))

    def rotate_secret(
        self,
        webhook_id: str,
        *,
        idempotency_key: str | None = None,
        **body: Unpack[SecretRotation],
    ) -> WebhookSecretRead:
        """A new signing secret (shown once); the old one keeps signing for the grace period."""
        return cast(
            WebhookSecretRead,
            self._client._request(
                "POST",
                f"/v1/webhooks/{webhook_id}/rotate-secret",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )

    def test(self, webhook_id: str, *, idempotency_key: str | None = None) -> TestSentRead:
        """Send a test event to the endpoint."""
        return cast(
            TestSentRead,
            self._client._request(
                "POST", f"/v1/webhooks/{webhook_id}/test", idempotency_key=idempotency_key
            ),
        )

    def deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[DeliveryRead]:
        """The endpoint's deliveries, each with its attempts."""
        return self._client._page(
            f"/v1/webhooks/{webhook_id}/deliveries",
            query(status=status, limit=limit, starting_after=starting_after),
        )

    def iter_deliveries(
        self, webhook_id: str, *, status: str | None = None, page_size: int = PAGE_SIZE
    ) -> Iterator[DeliveryRead]:
        return self._client._iterate(
            f"/v1/webhooks/{webhook_id}/deliveries", query(status=status), page_size
        )

    def retry_delivery(
        self, webhook_id: str, delivery_id: str, *, idempotency_key: str | None = None
    ) -> DeliveryRead:
        return cast(
            DeliveryRead,
            self._client._request(
                "POST",
                f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
                idempotency_key=idempotency_key,
            ),
        )


class Providers(Resource):
    def list(self) -> Page[ProviderSettingsRead]:
        """Which voice providers the account has credentials for (never their values)."""
        return self._client._page("/v1/account/providers", {})

    def update(
        self, provider: str, *, if_match: str | None = None, **body: Unpack[ProviderSettingsUpdate]
    ) -> ProviderSettingsRead:
        """Set the account's credentials at ``provider`` (twilio, telnyx, vapi, retell)."""
        return cast(
            ProviderSettingsRead,
            self._client._request(
                "PUT", f"/v1/account/providers/{provider}", json=body, if_match=if_match
            ),
        )


class CollectionPlans(Resource):
    def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[CollectionPlanCreate]
    ) -> CollectionPlanRead:
        return cast(
            CollectionPlanRead,
            self._client._request(
                "POST", "/v1/collection-plans", json=body, idempotency_key=idempotency_key
            ),
        )

    def list(
        self, *, limit: int | None = None, starting_after: str | None = None
    ) -> Page[CollectionPlanRead]:
        return self._client._page(
            "/v1/collection-plans", query(limit=limit, starting_after=starting_after)
        )

    def iter(self, *, page_size: int = PAGE_SIZE) -> Iterator[CollectionPlanRead]:
        return self._client._iterate("/v1/collection-plans", {}, page_size)

    def get(self, plan_id: str) -> CollectionPlanRead:
        return cast(
            CollectionPlanRead,
            self._client._request("GET", f"/v1/collection-plans/{plan_id}"),
        )

    def update(
        self, plan_id: str, *, if_match: str | None = None, **body: Unpack[CollectionPlanUpdate]
    ) -> CollectionPlanRead:
        return cast(
            CollectionPlanRead,
            self._client._request(
                "PUT", f"/v1/collection-plans/{plan_id}", json=body, if_match=if_match
            ),
        )

    def delete(self, plan_id: str) -> Deleted:
        return cast(Deleted, self._client._request("DELETE", f"/v1/collection-plans/{plan_id}"))

    def preview(
        self, plan_id: str, *, idempotency_key: str | None = None, **body: Unpack[PreviewIn]
    ) -> ScheduleRead:
        """The schedule the plan would give an invoice like ``body``, without making one."""
        return cast(
            ScheduleRead,
            self._client._request(
                "POST",
                f"/v1/collection-plans/{plan_id}/preview",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )
