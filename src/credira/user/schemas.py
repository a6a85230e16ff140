from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictStr, field_validator

from credira.api.responses import documented
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
