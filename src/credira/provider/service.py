"""An account's provider settings: stored encrypted, shown as which fields are set, read
back (decrypted) only by the adapters and the callbacks that need them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.errors import ValidationFailed
from credira.kit.clock import format_time
from credira.models import ProviderSetting
from credira.provider import repository
from credira.provider.schemas import (
    DEFAULT_API_BASE,
    FIELDS,
    PROVIDER_NAMES,
    ProviderSettingsUpdate,
)
from credira.secret.crypto import Cipher

NOT_CREDENTIALS = ("api_base", "max_concurrent_calls", "calls_per_second")


@dataclass(frozen=True)
class ProviderAccount:
    """An account's credentials at one provider, in clear: never logged, never replied."""

    provider: str
    values: Mapping[str, str]
    api_base: str

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def __repr__(self) -> str:  # a log line or a traceback never shows a credential
        return f"ProviderAccount({self.provider!r}, api_base={self.api_base!r})"


async def put(
    session: AsyncSession,
    cipher: Cipher,
    account_id: str,
    provider: str,
    body: ProviderSettingsUpdate,
    now: datetime,
) -> ProviderSetting:
    sent = body.model_dump(exclude_unset=True)
    fields = FIELDS[provider]
    for name, value in sent.items():
        if name not in NOT_CREDENTIALS and value is not None and name not in fields:
            raise ValidationFailed(
                "Invalid field value",
                details=f"{name} is not a {provider} setting; its fields: {', '.join(fields)}",
                field=name,
            )
    setting = await repository.get(session, account_id, provider)
    stored: dict[str, str] = {}
    if setting is not None:
        stored = json.loads(cipher.decrypt(setting.credentials))
    given = {name: sent[name] for name in fields if sent.get(name) is not None}
    values = {**stored, **given}
    missing = [name for name in fields if name not in values]
    if missing:
        raise ValidationFailed(
            "Invalid field value",
            details=f"{provider} needs {', '.join(missing)}",
            field=missing[0],
        )
    credentials = cipher.encrypt(json.dumps(values, sort_keys=True).encode("utf-8"))
    stamps = {name: format_time(now) for name in given}
    if setting is None:
        setting = ProviderSetting(
            account_id=account_id,
            provider=provider,
            credentials=credentials,
            api_base=sent.get("api_base"),
            fields_set=stamps,
            created_time=now,
            updated_time=now,
        )
        session.add(setting)
    else:
        setting.credentials = credentials
        setting.fields_set = {**setting.fields_set, **stamps}
        if "api_base" in sent:
            setting.api_base = sent["api_base"]
        setting.updated_time = max(now, setting.updated_time)
    for name in ("max_concurrent_calls", "calls_per_second"):
        if sent.get(name) is not None:
            setattr(setting, name, sent[name] or None)
    await session.flush()
    return setting


def to_read(provider: str, setting: ProviderSetting | None, public_url: str) -> dict[str, Any]:
    """What the API shows: which fields are set and when, never their values."""
    stamps = setting.fields_set if setting is not None else {}
    fields = {
        name: ({"set": True, "updated_time": stamps[name]} if name in stamps else {"set": False})
        for name in FIELDS[provider]
    }
    shown: dict[str, Any] = {
        "provider": provider,
        "configured": setting is not None and all(name in stamps for name in FIELDS[provider]),
        "fields": fields,
        "api_base": (setting.api_base if setting else None) or DEFAULT_API_BASE[provider],
        "max_concurrent_calls": setting.max_concurrent_calls if setting else None,
        "calls_per_second": setting.calls_per_second if setting else None,
        "callback_url": f"{public_url.rstrip('/')}/hooks/{provider}",
    }
    if setting is not None:
        shown["updated_time"] = format_time(setting.updated_time)
    return shown


async def views(session: AsyncSession, account_id: str, public_url: str) -> list[dict[str, Any]]:
    found = {s.provider: s for s in await repository.of_account(session, account_id)}
    return [to_read(name, found.get(name), public_url) for name in PROVIDER_NAMES]


async def account_at(
    session: AsyncSession, cipher: Cipher, account_id: str, provider: str
) -> ProviderAccount | None:
    """The account's credentials at ``provider``, or None when it has not set them."""
    setting = await repository.get(session, account_id, provider)
    if setting is None:
        return None
    values = json.loads(cipher.decrypt(setting.credentials))
    return ProviderAccount(provider, values, setting.api_base or DEFAULT_API_BASE[provider])
