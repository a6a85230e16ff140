"""Settings, read from the environment once and passed down (never read at import time)."""

from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The most the template settings below may be raised to; request schemas accept up to these, and
# the configured values are what the server (and its OpenAPI document) holds requests to.
TEMPLATE_CEILING = 1024 * 1024
VARIABLE_CEILING = 1024 * 1024
VARIABLES_CEILING = 1000


class Settings(BaseSettings):
    """Every knob an operator can turn, each named ``CREDIRA_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="CREDIRA_", extra="ignore", frozen=True)

    data_dir: Path = Path("./credira-data")
    database_url: str | None = None
    admin_key: str | None = None
    smtp_url: str | None = None
    # Signs tracking and unsubscribe links; generated and stored in the database when unset.
    secret_key: str | None = None
    email_from: str = "Credira <billing@credira.localhost>"
    redis_url: str | None = None
    # GET /metrics answers only "Authorization: Bearer <this>" when set; unset, it is open.
    metrics_token: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    # How long the event log keeps an event; the worker prunes older ones.
    event_retention_days: int = Field(default=30, ge=1, le=3650)
    # Fernet keys, comma-separated (the first encrypts, all decrypt) for the secrets the
    # service must read back (webhook signing secrets, provider credentials); unset: a key
    # generated once into data_dir/encryption.key (credira.secret.crypto).
    encryption_key: str | None = None
    # Webhook delivery: networks (CIDRs, comma-separated) the SSRF guard lets through (by
    # default none of loopback, private, link-local, multicast or reserved addresses).
    webhook_allow_networks: str = ""
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    # Seconds between a failed attempt and the next (Svix's schedule), each with +-20% jitter.
    webhook_retry_seconds: str = "5,300,1800,7200,18000,36000,36000"
    webhook_concurrency: int = Field(default=200, ge=1, le=10_000)  # requests in flight
    webhook_per_endpoint: int = Field(default=20, ge=1, le=1000)  # of those, to one endpoint
    # An endpoint whose deliveries fail this long without a success is disabled.
    webhook_disable_after_hours: float = Field(default=120.0, gt=0)
    # The dashboard's session cookie: Secure (sent over HTTPS only) unless turned off for a
    # plain-http localhost; a session ends after this long unused, and at the latest this long
    # after sign-in.
    dashboard_cookie_secure: bool = True
    dashboard_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    dashboard_max_hours: int = Field(default=12, ge=1, le=24 * 30)
    # An OpenAI-compatible LLM for our own voice agent and for call analysis (unset: none,
    # the deterministic dialogue and the rules-based analysis). See credira.llm.
    llm_url: str | None = None  # base URL, e.g. http://127.0.0.1:11434/v1 (Ollama)
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=32, ge=4)
    # The most items a list the documentation shows without pages (callouts or calls of an
    # invoice, emails of a callout, email templates) answers when no `limit` is sent; past it the
    # request is refused with a hint to page (never a silently shortened list).
    list_max_items: int = Field(default=10_000, ge=1, le=1_000_000)
    # A request's line and headers together; a longer head is refused (431) as it arrives.
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    log_level: str = "info"
    log_json: bool = False
    # PostgreSQL connections per process, all kept open once made: a session that finds every
    # one busy waits for one rather than opening (and soon closing) another.
    db_pool_size: int = Field(default=20, ge=1)
    # The worker: embedded in `serve` unless turned off (then run `credira worker` instead).
    embedded_worker: bool = True
    worker_concurrency: int = Field(default=100, ge=1, le=10_000)
    worker_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    worker_lease_seconds: float = Field(default=30.0, ge=2, le=600)
    worker_grace_seconds: float = Field(default=20.0, ge=0, le=600)
    # Processes of its own that classify the transcripts of answered calls (0: the worker's
    # own process does), so that a worker uses a second core.
    worker_analysis_processes: int = Field(default=1, ge=0, le=64)
    # The built-in voice simulator's timeline: 1.0 is about two seconds per answered call.
    simulator_time_scale: float = Field(default=1.0, gt=0, le=100)
    # Simulated calls get a spoken recording when espeak-ng is installed.
    simulator_recordings: bool = True
    # Real voice providers (Twilio): how long a request to their API may take, and how long a
    # call may go without a callback before its status is read from the provider's API.
    provider_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    provider_poll_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Request rate limits, in the `limits` notation ("100/second;3000/minute"); "" turns one
    # off. Kept in Redis when redis_url is set (shared by every replica), in memory otherwise.
    rate_limit_per_key: str = "100/second;3000/minute"
    rate_limit_per_account: str = "200/second;6000/minute"
    rate_limit_create_call: str = "10/minute"  # POST /v1/calls, per account
    rate_limit_strategy: Literal["moving-window", "sliding-window-counter"] = "moving-window"
    # The links inside emails (open pixel, click redirect, unsubscribe) need no key: their
    # opens and clicks are recorded for at most this many requests per client address (IPv6:
    # per /64); past it the recipient still gets the image, the redirect and the opt-out.
    rate_limit_links: str = "60/minute"
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the
    # client; from any other peer the header is ignored.
    trusted_proxies: str = ""
    # Templates and what they render, in characters. What a template renders grows as its size
    # times its variables' length, so each is bounded and a render stops at the rendered bound
    # (an email's subject, HTML and text part, a voice agent's script) without building more.
    # A dunning email is a few KiB; Gmail clips an HTML part past about 100 KiB.
    template_max_chars: int = Field(default=100 * 1024, ge=1024, le=TEMPLATE_CEILING)
    template_max_tags: int = Field(default=300, ge=10, le=10_000)  # {{ }} and {% %} per part
    # At least 2,048: a variable taken from an invoice (its payment link) always fits.
    template_variable_max_chars: int = Field(default=10 * 1024, ge=2048, le=VARIABLE_CEILING)
    template_max_variables: int = Field(default=100, ge=10, le=VARIABLES_CEILING)
    rendered_part_max_chars: int = Field(default=256 * 1024, ge=4096, le=16 * 1024 * 1024)

    @field_validator("admin_key")
    @classmethod
    def _refuse_weak_admin_key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if len(value) < 24 or value in {"changeme", "admin", "secret"}:
            raise ValueError("CREDIRA_ADMIN_KEY must be at least 24 characters of real secret")
        return value

    @field_validator("email_from")
    @classmethod
    def _check_email_from(cls, value: str) -> str:
        # Read as every email's From is (no line breaks or control characters: header injection).
        from credira.channel.email.mime import parse_mailbox

        try:
            parse_mailbox("CREDIRA_EMAIL_FROM", value)
        except ValueError as exc:
            raise ValueError(f"{exc} (the From of outgoing email, 'Name <addr>')") from None
        return value

    @field_validator(
        "rate_limit_per_key", "rate_limit_per_account", "rate_limit_create_call", "rate_limit_links"
    )
    @classmethod
    def _parse_rate_limits(cls, value: str) -> str:
        if value.strip():
            parse_many(value)  # ValueError names the string it cannot read
        return value

    @field_validator("encryption_key")
    @classmethod
    def _parse_encryption_key(cls, value: str | None) -> str | None:
        if value:
            from credira.secret.crypto import parse_keys

            try:
                parse_keys(value)
            except ValueError:
                raise ValueError(
                    "CREDIRA_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded "
                    "bytes each), comma-separated"
                ) from None
        return value or None

    @field_validator("webhook_allow_networks")
    @classmethod
    def _parse_webhook_networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ip_network(part.strip(), strict=False)  # ValueError names the entry
        return value

    @field_validator("webhook_retry_seconds")
    @classmethod
    def _parse_webhook_retries(cls, value: str) -> str:
        delays = [float(part) for part in value.split(",") if part.strip()]
        if not delays or any(d < 0 or d > 7 * 86400 for d in delays):
            raise ValueError("webhook retry delays: seconds (0 to 604800), comma-separated")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _parse_trusted_proxies(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ip_network(part.strip(), strict=False)  # ValueError names the entry
        return value

    @field_validator("llm_url")
    @classmethod
    def _check_llm_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        from credira.llm.settings import check_base_url

        try:
            return check_base_url(value)
        except ValueError as exc:
            raise ValueError(f"CREDIRA_LLM_URL must be {exc}") from None

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> Settings:
        if self.llm_url and not (self.llm_model or "").strip():
            raise ValueError("CREDIRA_LLM_MODEL must name the model when CREDIRA_LLM_URL is set")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: the configured one, or a SQLite file under ``data_dir``."""
        if self.database_url:
            return to_async_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'credira.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def to_async_url(url: str) -> str:
    """Accept the URLs operators write (``postgresql://``, ``sqlite:///``); pick async drivers."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql+psycopg://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url
