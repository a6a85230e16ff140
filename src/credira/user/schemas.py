from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictStr, field_validator

from credira.api.responses import Deleted, Instant, ReadModel, absent, documented
from credira.auth.permissions import ALL_PERMISSIONS
from credira.kit import validation
from credira.kit.body import RequestBody
from credira.kit.validation import Name, ShortText

Metadata = Annotated[validation.Metadata, documented("Metadata")]
Email = Annotated[validation.Email, documented("Email")]
Phone = Annotated[validation.Phone, documented("Phone")]

UserStatus = Literal["active", "inactive", "suspended"]
# Checked by ``_check_permissions`` (whose message lists the names); the document lists them.
Permission = Annotated[StrictStr, Field(json_schema_extra={"enum": list(ALL_PERMISSIONS)})]


def _check_permissions(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    unknown = sorted(set(value) - set(ALL_PERMISSIONS))
    if unknown:
        raise ValueError(f"unknown permission {unknown[0]!r}; known: {', '.join(ALL_PERMISSIONS)}")
    return list(dict.fromkeys(value))


class UserCreate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    email: Email
    name: Name
    company: Name
    role: ShortText | None = None
    department: ShortText | None = None
    phone: Phone | None = None
    account_id: str | None = Field(
        default=None, description="Existing account to add the user to (admin key only)."
    )
    permissions: list[Permission] | None = Field(default=None, max_length=len(ALL_PERMISSIONS))
    metadata: Metadata = Field(default_factory=dict)

    _perms = field_validator("permissions")(_check_permissions)


class UserUpdate(RequestBody):
    """Every field optional; ``metadata`` keys merge and a key set to null is removed."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    role: ShortText | None = None
    department: ShortText | None = None
    phone: Phone | None = None
    status: UserStatus | None = None
    permissions: list[Permission] | None = Field(default=None, max_length=len(ALL_PERMISSIONS))
    metadata: Metadata | None = None

    _perms = field_validator("permissions")(_check_permissions)


class KeyRotate(RequestBody):
    model_config = ConfigDict(extra="forbid")

    revoke_existing: StrictBool = True


# --- Replies ---


class ActivityStatsRead(ReadModel):
    total_calls_made: int
    total_emails_sent: int
    total_callouts_created: int
    last_activity: Instant | None


class UserRead(ReadModel):
    """A user with its permissions and activity (``updated_time`` in the reply of an update)."""

    id: str
    email: str
    name: str
    company: str
    role: str | None
    department: str | None
    phone: str | None
    account_id: str
    status: UserStatus
    created_time: Instant
    updated_time: Instant = absent()
    last_login: Instant | None
    permissions: list[str]
    activity_stats: ActivityStatsRead
    metadata: dict[str, Any]


class UserCreated(ReadModel):
    """The new user and its API key, shown this once (null in an idempotent replay)."""

    id: str
    email: str
    name: str
    company: str
    role: str | None
    department: str | None
    phone: str | None
    api_key: str | None
    account_id: str
    status: UserStatus
    created_time: Instant
    last_login: None
    permissions: list[str]
    metadata: dict[str, Any]


class KeyRotated(ReadModel):
    """The new API key, shown this once (null in an idempotent replay)."""

    id: str
    api_key: str | None


class AssociatedResources(ReadModel):
    calls: int
    emails: int
    callouts: int


class UserDeletedItems(ReadModel):
    user_account: bool
    api_keys: int
    activity_history: bool
    associated_resources: AssociatedResources


class UserDeleted(Deleted):
    deleted_items: UserDeletedItems
