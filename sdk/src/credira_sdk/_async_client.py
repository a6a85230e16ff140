"""``AsyncClient``: every operation of the Credira API as a typed method.

``_async_client.py`` is the source of both clients; ``_sync_client.py`` is written from it by
``sdk/tools/unasync.py`` (no ``async``/``await``, ``Async`` names made plain) and a test fails
when the two differ: add a method to ``_async_client.py``, then run the tool.

A method states its operation in one call, ``self._client._request(METHOD, PATH, ...)`` (or
``_page(PATH, ...)`` for a list, ``_raw(METHOD, PATH)`` for a file), with the path written as
the document writes it (``f"/v1/invoices/{invoice_id}"``): ``tests/sdk/test_coverage.py``
reads those calls to list the operations of ``openapi.json`` the SDK lacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
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


class AsyncClient:
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
        http_client: httpx.AsyncClient | None = None,
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
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self.users = AsyncUsers(self)
        self.account = AsyncAccount(self)
        self.invoices = AsyncInvoices(self)
        self.voice_agents = AsyncVoiceAgents(self)
        self.callouts = AsyncCallouts(self)
        self.calls = AsyncCalls(self)
        self.email_templates = AsyncEmailTemplates(self)
        self.emails = AsyncEmails(self)
        self.events = AsyncEvents(self)
        self.webhooks = AsyncWebhooks(self)
        self.providers = AsyncProviders(self)
        self.collection_plans = AsyncCollectionPlans(self)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- the probes ------------------------------------------------------------------------

    async def health(self) -> HealthRead:
        """``GET /health``: the process is up."""
        return cast(HealthRead, await self._request("GET", "/health"))

    async def ready(self) -> ReadyRead:
        """``GET /ready``: the database answers."""
        return cast(ReadyRead, await self._request("GET", "/ready"))

    # -- transport -------------------------------------------------------------------------

    async def _send(
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
                response = await self._http.request(
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
                await asyncio.sleep(self.retries.delay(attempt))
                attempt += 1
                continue
            if response.is_success:
                return response
            if attempt < self.retries.max_retries and self.retries.retryable_status(
                response.status_code
            ):
                await response.aread()
                delay = self.retries.delay(attempt, response.headers)
                await asyncio.sleep(delay)
                attempt += 1
                continue
            await response.aread()
            raise failure(response)

    async def _request(self, method: str, path: str, **options: Any) -> Any:
        """The ``data`` of the reply's envelope."""
        body = decode(await self._send(method, path, **options))
        return body.get("data") if isinstance(body, dict) else body

    async def _page(self, path: str, params: Mapping[str, Any]) -> Page[Any]:
        return page_of(decode(await self._send("GET", path, params=params)))

    async def _raw(self, method: str, path: str) -> httpx.Response:
        return await self._send(method, path)

    async def _iterate(
        self, path: str, params: Mapping[str, Any], page_size: int
    ) -> AsyncIterator[Any]:
        cursor: str | None = None
        while True:
            page = await self._page(path, {**params, "limit": page_size, "starting_after": cursor})
            for item in page.data:
                yield item
            cursor = page.next_cursor
            if cursor is None:
                return


class AsyncResource:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client


class AsyncUsers(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[UserCreate]
    ) -> UserCreated:
        """Create a user (admin key, or ``users:write``); the reply's ``api_key`` is shown
        once."""
        return cast(
            UserCreated,
            await self._client._request(
                "POST", "/v1/users", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[UserRead]:
        return await self._client._page(
            "/v1/users", query(status=status, limit=limit, starting_after=starting_after)
        )

    def iter(
        self, *, status: str | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[UserRead]:
        return self._client._iterate("/v1/users", query(status=status), page_size)

    async def get(self, user_id: str) -> UserRead:
        return cast(UserRead, await self._client._request("GET", f"/v1/users/{user_id}"))

    async def update(
        self, user_id: str, *, if_match: str | None = None, **body: Unpack[UserUpdate]
    ) -> UserRead:
        return cast(
            UserRead,
            await self._client._request(
                "PUT", f"/v1/users/{user_id}", json=body, if_match=if_match
            ),
        )

    async def delete(self, user_id: str) -> UserDeleted:
        return cast(UserDeleted, await self._client._request("DELETE", f"/v1/users/{user_id}"))

    async def rotate_key(
        self, user_id: str, *, idempotency_key: str | None = None, **body: Unpack[KeyRotate]
    ) -> KeyRotated:
        """A new key for the user; the old one stops working (at once, or after
        ``grace_seconds`` when given)."""
        return cast(
            KeyRotated,
            await self._client._request(
                "POST",
                f"/v1/users/{user_id}/rotate-key",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )


class AsyncAccount(AsyncResource):
    async def get(self) -> AccountRead:
        """The caller's account and its settings."""
        return cast(AccountRead, await self._client._request("GET", "/v1/account"))

    async def update_settings(
        self, *, if_match: str | None = None, **body: Unpack[AccountSettingsUpdate]
    ) -> AccountRead:
        return cast(
            AccountRead,
            await self._client._request(
                "PUT", "/v1/account/settings", json=body, if_match=if_match
            ),
        )


class AsyncInvoices(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[InvoiceCreate]
    ) -> InvoiceRead:
        return cast(
            InvoiceRead,
            await self._client._request(
                "POST", "/v1/invoices", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self,
        *,
        status: str | None = None,
        number: str | None = None,
        customer_email: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[InvoiceRead]:
        return await self._client._page(
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
    ) -> AsyncIterator[InvoiceRead]:
        filters = query(status=status, number=number, customer_email=customer_email)
        return self._client._iterate("/v1/invoices", filters, page_size)

    async def get(self, invoice_id: str) -> InvoiceRead:
        return cast(InvoiceRead, await self._client._request("GET", f"/v1/invoices/{invoice_id}"))

    async def update(
        self, invoice_id: str, *, if_match: str | None = None, **body: Unpack[InvoiceUpdate]
    ) -> InvoiceRead:
        """Change an invoice; ``status`` ``paid``, ``void`` or ``disputed`` cancels its pending
        callouts."""
        return cast(
            InvoiceRead,
            await self._client._request(
                "PUT", f"/v1/invoices/{invoice_id}", json=body, if_match=if_match
            ),
        )

    async def schedule(self, invoice_id: str) -> ScheduleRead:
        """The invoice's collection schedule: its plan's steps, done and to come."""
        return cast(
            ScheduleRead, await self._client._request("GET", f"/v1/invoices/{invoice_id}/schedule")
        )

    async def pause(
        self, invoice_id: str, *, idempotency_key: str | None = None, **body: Unpack[PauseIn]
    ) -> InvoiceRead:
        """Pause the invoice's collection plan (until a time, or until resumed)."""
        return cast(
            InvoiceRead,
            await self._client._request(
                "POST",
                f"/v1/invoices/{invoice_id}/pause",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )

    async def resume(self, invoice_id: str, *, idempotency_key: str | None = None) -> InvoiceRead:
        return cast(
            InvoiceRead,
            await self._client._request(
                "POST", f"/v1/invoices/{invoice_id}/resume", idempotency_key=idempotency_key
            ),
        )

    async def import_csv(
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
            await self._client._request(
                "POST",
                "/v1/invoices/import",
                params=query(plan_id=plan_id, skip_invalid=skip_invalid),
                content=csv,
                content_type="text/csv",
                idempotency_key=idempotency_key,
            ),
        )

    async def import_job(self, job_id: str) -> ImportJobRead:
        return cast(
            ImportJobRead, await self._client._request("GET", f"/v1/invoices/import/{job_id}")
        )


class AsyncVoiceAgents(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[VoiceAgentCreate]
    ) -> VoiceAgentRead:
        return cast(
            VoiceAgentRead,
            await self._client._request(
                "POST", "/v1/voice-agents", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[VoiceAgentRead]:
        return await self._client._page(
            "/v1/voice-agents", query(status=status, limit=limit, starting_after=starting_after)
        )

    def iter(
        self, *, status: str | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[VoiceAgentRead]:
        return self._client._iterate("/v1/voice-agents", query(status=status), page_size)

    async def get(self, agent_id: str) -> VoiceAgentRead:
        return cast(
            VoiceAgentRead, await self._client._request("GET", f"/v1/voice-agents/{agent_id}")
        )

    async def update(
        self, agent_id: str, *, if_match: str | None = None, **body: Unpack[VoiceAgentUpdate]
    ) -> VoiceAgentRead:
        return cast(
            VoiceAgentRead,
            await self._client._request(
                "PUT", f"/v1/voice-agents/{agent_id}", json=body, if_match=if_match
            ),
        )

    async def delete(self, agent_id: str) -> Deleted:
        return cast(Deleted, await self._client._request("DELETE", f"/v1/voice-agents/{agent_id}"))


class AsyncCallouts(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[CalloutCreate]
    ) -> CalloutRead:
        """Schedule a callout for an invoice (``scheduled_time`` defaults to now)."""
        return cast(
            CalloutRead,
            await self._client._request(
                "POST", "/v1/callouts", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self,
        *,
        invoice_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[CalloutRead]:
        """The callouts of an invoice (``invoice_id`` is required by the server)."""
        return await self._client._page(
            "/v1/callouts",
            query(invoice_id=invoice_id, status=status, limit=limit, starting_after=starting_after),
        )

    def iter(
        self,
        *,
        invoice_id: str | None = None,
        status: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> AsyncIterator[CalloutRead]:
        filters = query(invoice_id=invoice_id, status=status)
        return self._client._iterate("/v1/callouts", filters, page_size)

    async def get(self, callout_id: str) -> CalloutRead:
        return cast(CalloutRead, await self._client._request("GET", f"/v1/callouts/{callout_id}"))

    async def update(
        self, callout_id: str, *, if_match: str | None = None, **body: Unpack[CalloutUpdate]
    ) -> CalloutRead:
        return cast(
            CalloutRead,
            await self._client._request(
                "PUT", f"/v1/callouts/{callout_id}", json=body, if_match=if_match
            ),
        )

    async def delete(self, callout_id: str) -> CalloutDeleted:
        return cast(
            CalloutDeleted,
            await self._client._request("DELETE", f"/v1/callouts/{callout_id}"),
        )

    async def cancel(
        self, callout_id: str, *, idempotency_key: str | None = None, **body: Unpack[CalloutCancel]
    ) -> CalloutRead:
        return cast(
            CalloutRead,
            await self._client._request(
                "POST",
                f"/v1/callouts/{callout_id}/cancel",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )

    async def response(self, callout_id: str) -> CalloutResponseRead:
        """Every call and email attempt of the callout, with its analytics."""
        return cast(
            CalloutResponseRead,
            await self._client._request("GET", f"/v1/callouts/{callout_id}/response"),
        )


class AsyncCalls(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[CallCreate]
    ) -> CallCreated:
        """Place a call now or at ``scheduled_time``."""
        return cast(
            CallCreated,
            await self._client._request(
                "POST", "/v1/calls", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self,
        *,
        invoice_id: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[CallRead]:
        return await self._client._page(
            "/v1/calls",
            query(invoice_id=invoice_id, limit=limit, starting_after=starting_after),
        )

    def iter(
        self, *, invoice_id: str | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[CallRead]:
        return self._client._iterate("/v1/calls", query(invoice_id=invoice_id), page_size)

    async def get(self, call_id: str) -> CallDetailRead:
        return cast(CallDetailRead, await self._client._request("GET", f"/v1/calls/{call_id}"))

    async def transcript(self, call_id: str) -> str:
        """The call's transcript as text (``transcription_url``)."""
        name = f"{call_id}.txt"
        return (await self._client._raw("GET", f"/transcriptions/{name}")).text

    async def recording(self, call_id: str) -> bytes:
        """The call's recording as WAV bytes (``call_recording_url``)."""
        name = f"{call_id}.wav"
        return (await self._client._raw("GET", f"/recordings/{name}")).content


class AsyncEmailTemplates(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[EmailTemplateCreate]
    ) -> EmailTemplateRead:
        return cast(
            EmailTemplateRead,
            await self._client._request(
                "POST", "/v1/email-templates", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self,
        *,
        account_id: str | None = None,
        status: str | None = None,
        category: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[EmailTemplateRead]:
        return await self._client._page(
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
    ) -> AsyncIterator[EmailTemplateRead]:
        filters = query(account_id=account_id, status=status, category=category)
        return self._client._iterate("/v1/email-templates", filters, page_size)

    async def get(self, template_id: str) -> EmailTemplateRead:
        return cast(
            EmailTemplateRead,
            await self._client._request("GET", f"/v1/email-templates/{template_id}"),
        )

    async def update(
        self,
        template_id: str,
        *,
        if_match: str | None = None,
        **body: Unpack[EmailTemplateUpdate],
    ) -> EmailTemplateRead:
        return cast(
            EmailTemplateRead,
            await self._client._request(
                "PUT", f"/v1/email-templates/{template_id}", json=body, if_match=if_match
            ),
        )

    async def delete(self, template_id: str) -> Deleted:
        return cast(
            Deleted,
            await self._client._request("DELETE", f"/v1/email-templates/{template_id}"),
        )


class AsyncEmails(AsyncResource):
    async def send(
        self, *, idempotency_key: str | None = None, **body: Unpack[SendEmailCreate]
    ) -> EmailScheduled:
        """Render a template with ``variables`` and send it now or at ``scheduled_time``."""
        return cast(
            EmailScheduled,
            await self._client._request(
                "POST", "/v1/send-email", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self,
        *,
        callout_id: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[EmailRead]:
        return await self._client._page(
            "/v1/emails",
            query(callout_id=callout_id, limit=limit, starting_after=starting_after),
        )

    def iter(
        self, *, callout_id: str | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[EmailRead]:
        return self._client._iterate("/v1/emails", query(callout_id=callout_id), page_size)

    async def get(self, email_id: str) -> EmailDetailRead:
        return cast(EmailDetailRead, await self._client._request("GET", f"/v1/emails/{email_id}"))

    async def reconcile(
        self, email_id: str, *, idempotency_key: str | None = None, **body: Unpack[EmailReconcile]
    ) -> EmailDetailRead:
        """Settle an ``unconfirmed`` email: ``outcome`` ``delivered`` or ``not_delivered``."""
        return cast(
            EmailDetailRead,
            await self._client._request(
                "POST",
                f"/v1/emails/{email_id}/reconcile",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )


class AsyncEvents(AsyncResource):
    async def list(
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
        return await self._client._page(
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
    ) -> AsyncIterator[EventRead]:
        filters = query(
            type=type, object_id=object_id, invoice_id=invoice_id, created_after=created_after
        )
        return self._client._iterate("/v1/events", filters, page_size)

    async def get(self, event_id: str) -> EventRead:
        return cast(EventRead, await self._client._request("GET", f"/v1/events/{event_id}"))


class AsyncWebhooks(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[WebhookCreate]
    ) -> WebhookSecretRead:
        """Subscribe a URL to event types (``call.*`` wildcards); the reply's ``secret``
        (``whsec_...``, for ``credira_sdk.webhooks.verify``) is shown once."""
        return cast(
            WebhookSecretRead,
            await self._client._request(
                "POST", "/v1/webhooks", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self, *, limit: int | None = None, starting_after: str | None = None
    ) -> Page[WebhookRead]:
        return await self._client._page(
            "/v1/webhooks", query(limit=limit, starting_after=starting_after)
        )

    def iter(self, *, page_size: int = PAGE_SIZE) -> AsyncIterator[WebhookRead]:
        return self._client._iterate("/v1/webhooks", {}, page_size)

    async def get(self, webhook_id: str) -> WebhookRead:
        return cast(WebhookRead, await self._client._request("GET", f"/v1/webhooks/{webhook_id}"))

    async def update(
        self, webhook_id: str, *, if_match: str | None = None, **body: Unpack[WebhookUpdate]
    ) -> WebhookRead:
        return cast(
            WebhookRead,
            await self._client._request(
                "PUT", f"/v1/webhooks/{webhook_id}", json=body, if_match=if_match
            ),
        )

    async def delete(self, webhook_id: str) -> Deleted:
        return cast(Deleted, await self._client._request("DELETE", f"/v1/webhooks/{webhook_id}"))

    async def rotate_secret(
        self,
        webhook_id: str,
        *,
        idempotency_key: str | None = None,
        **body: Unpack[SecretRotation],
    ) -> WebhookSecretRead:
        """A new signing secret (shown once); the old one keeps signing for the grace period."""
        return cast(
            WebhookSecretRead,
            await self._client._request(
                "POST",
                f"/v1/webhooks/{webhook_id}/rotate-secret",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )

    async def test(self, webhook_id: str, *, idempotency_key: str | None = None) -> TestSentRead:
        """Send a test event to the endpoint."""
        return cast(
            TestSentRead,
            await self._client._request(
                "POST", f"/v1/webhooks/{webhook_id}/test", idempotency_key=idempotency_key
            ),
        )

    async def deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> Page[DeliveryRead]:
        """The endpoint's deliveries, each with its attempts."""
        return await self._client._page(
            f"/v1/webhooks/{webhook_id}/deliveries",
            query(status=status, limit=limit, starting_after=starting_after),
        )

    def iter_deliveries(
        self, webhook_id: str, *, status: str | None = None, page_size: int = PAGE_SIZE
    ) -> AsyncIterator[DeliveryRead]:
        return self._client._iterate(
            f"/v1/webhooks/{webhook_id}/deliveries", query(status=status), page_size
        )

    async def retry_delivery(
        self, webhook_id: str, delivery_id: str, *, idempotency_key: str | None = None
    ) -> DeliveryRead:
        return cast(
            DeliveryRead,
            await self._client._request(
                "POST",
                f"/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
                idempotency_key=idempotency_key,
            ),
        )


class AsyncProviders(AsyncResource):
    async def list(self) -> Page[ProviderSettingsRead]:
        """Which voice providers the account has credentials for (never their values)."""
        return await self._client._page("/v1/account/providers", {})

    async def update(
        self, provider: str, *, if_match: str | None = None, **body: Unpack[ProviderSettingsUpdate]
    ) -> ProviderSettingsRead:
        """Set the account's credentials at ``provider`` (twilio, telnyx, vapi, retell)."""
        return cast(
            ProviderSettingsRead,
            await self._client._request(
                "PUT", f"/v1/account/providers/{provider}", json=body, if_match=if_match
            ),
        )


class AsyncCollectionPlans(AsyncResource):
    async def create(
        self, *, idempotency_key: str | None = None, **body: Unpack[CollectionPlanCreate]
    ) -> CollectionPlanRead:
        return cast(
            CollectionPlanRead,
            await self._client._request(
                "POST", "/v1/collection-plans", json=body, idempotency_key=idempotency_key
            ),
        )

    async def list(
        self, *, limit: int | None = None, starting_after: str | None = None
    ) -> Page[CollectionPlanRead]:
        return await self._client._page(
            "/v1/collection-plans", query(limit=limit, starting_after=starting_after)
        )

    def iter(self, *, page_size: int = PAGE_SIZE) -> AsyncIterator[CollectionPlanRead]:
        return self._client._iterate("/v1/collection-plans", {}, page_size)

    async def get(self, plan_id: str) -> CollectionPlanRead:
        return cast(
            CollectionPlanRead,
            await self._client._request("GET", f"/v1/collection-plans/{plan_id}"),
        )

    async def update(
        self, plan_id: str, *, if_match: str | None = None, **body: Unpack[CollectionPlanUpdate]
    ) -> CollectionPlanRead:
        return cast(
            CollectionPlanRead,
            await self._client._request(
                "PUT", f"/v1/collection-plans/{plan_id}", json=body, if_match=if_match
            ),
        )

    async def delete(self, plan_id: str) -> Deleted:
        return cast(
            Deleted, await self._client._request("DELETE", f"/v1/collection-plans/{plan_id}")
        )

    async def preview(
        self, plan_id: str, *, idempotency_key: str | None = None, **body: Unpack[PreviewIn]
    ) -> ScheduleRead:
        """The schedule the plan would give an invoice like ``body``, without making one."""
        return cast(
            ScheduleRead,
            await self._client._request(
                "POST",
                f"/v1/collection-plans/{plan_id}/preview",
                json=body,
                idempotency_key=idempotency_key,
            ),
        )
