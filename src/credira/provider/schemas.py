"""What an account sets for a voice provider, and what the API shows of it (never a value)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict, Field, StrictInt, StrictStr

from credira.api.responses import Instant, ReadModel, absent
from credira.kit.body import RequestBody
from credira.kit.validation import WHOLE

ProviderName = Literal["twilio", "telnyx", "vapi", "retell"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("twilio", "telnyx", "vapi", "retell")

# Each provider's credential fields, all required once the provider is configured.
FIELDS: dict[str, tuple[str, ...]] = {
    "twilio": ("account_sid", "auth_token"),
    "telnyx": ("api_key", "connection_id", "public_key"),
    "vapi": ("api_key", "phone_number_id", "webhook_secret"),
    "retell": ("api_key", "agent_id"),
}
DEFAULT_API_BASE: dict[str, str] = {
    "twilio": "https://api.twilio.com",
    "telnyx": "https://api.telnyx.com/v2",
    "vapi": "https://api.vapi.ai",
    "retell": "https://api.retellai.com",
}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def check_api_base(value: str) -> str:
    """An https URL without credentials, query or fragment; plain http only to this host (a
    local fake or an edge proxy on the same machine): credentials go to this address."""
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an https URL such as https://api.twilio.com")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must not hold credentials, a query or a fragment")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError("must be https (plain http is accepted for this host only)")
    return value.rstrip("/")


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_public_key(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("must be the base64 Ed25519 public key shown in Telnyx's portal")
    return value


# Printable ASCII without blanks: no credential of these providers holds anything else.
_PRINTABLE = r"^[!-~]+$"
Secret = Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=_PRINTABLE)]
AccountSid = Annotated[
    StrictStr, Field(pattern=r"^AC[0-9a-fA-F]{32}$", description="Twilio Account SID (AC...)")
]
PublicKey = Annotated[
    StrictStr, Field(max_length=100, pattern=_PRINTABLE), AfterValidator(_check_public_key)
]
ApiBase = Annotated[
    StrictStr,
    # Printable ASCII but for ? and # (no query, no fragment).
    Field(max_length=300, pattern=r'^https?://[!-"$->@-~]+$'),
    AfterValidator(check_api_base),
]


Limit = Annotated[StrictInt, Field(ge=0, le=10_000), WHOLE]


class ProviderSettingsUpdate(RequestBody):
    """The fields of one provider; those sent replace the stored ones, the others stay. The
    first PUT of a provider must hold all of its fields (Twilio: account_sid and auth_token;
    Telnyx: api_key, connection_id, public_key; Vapi: api_key, phone_number_id,
    webhook_secret; Retell: api_key, agent_id). ``api_base`` null restores the default."""

    model_config = ConfigDict(extra="forbid")

    account_sid: AccountSid | None = None
    auth_token: Secret | None = None
    api_key: Secret | None = None
    connection_id: Secret | None = None
    public_key: PublicKey | None = None
    phone_number_id: Secret | None = None
    webhook_secret: Secret | None = None
    agent_id: Secret | None = None
    api_base: ApiBase | None = Field(
        default=None, description="The provider's API base URL (default: its real host)"
    )
    max_concurrent_calls: Limit | None = Field(
        default=None, description="Calls in progress at once for the account (0: no limit)"
    )
    calls_per_second: Limit | None = Field(
        default=None, description="Calls started in any one second (0: no limit)"
    )


# --- Replies ---


class ProviderFieldRead(ReadModel):
    set: bool
    updated_time: Instant = absent()


class ProviderSettingsRead(ReadModel):
    provider: ProviderName
    configured: bool = Field(description="Every field the provider needs is set")
    fields: dict[str, ProviderFieldRead] = Field(description="Which fields are set, and when")
    api_base: str
    max_concurrent_calls: int | None = Field(description="null: no limit")
    calls_per_second: int | None = Field(description="null: no limit")
    callback_url: str = Field(description="Where the provider's callbacks must reach Credira")
    updated_time: Instant = absent()
