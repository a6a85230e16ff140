"""Creating, reading, updating and deleting users, and issuing their keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credira.auth.keys import display_prefix, hash_key, new_user_key
from credira.auth.permissions import ALL_PERMISSIONS, DEFAULT_PERMISSIONS
from credira.auth.principal import Principal
from credira.email_template.service import create_default_templates
from credira.errors import Conflict, Forbidden, NotFound
from credira.kit.ids import check_id, new_id
from credira.kit.metadata import merge_metadata
from credira.models import Account, ApiKey, User
from credira.user import repository
from credira.user.schemas import UserCreate, UserUpdate


@dataclass(frozen=True)
class ActivityStats:
    total_calls_made: int
    total_emails_sent: int
    total_callouts_created: int
    last_activity: datetime | None


async def create_user(
    session: AsyncSession, principal: Principal, body: UserCreate, now: datetime
) -> tuple[User, str]:
    account = await _target_account(session, principal, body, now)
    if await repository.email_taken(session, account.id, body.email):
        raise Conflict("A user with this email already exists in the account")
    permissions = (
        list(body.permissions) if body.permissions is not None else list(DEFAULT_PERMISSIONS)
    )
    _check_grant(principal, permissions)
    user = User(
        id=new_id("user"),
        account_id=account.id,
        email=body.email,
        name=body.name,
        company=body.company,
        role=body.role,
        department=body.department,
        phone=body.phone,
        status="active",
        permissions=permissions,
        metadata_=body.metadata,
        created_time=now,
        updated_time=now,
    )
    session.add(user)
    await session.flush()
    key = issue_key(session, user, now)
    return user, key


def issue_key(session: AsyncSession, user: User, now: datetime) -> str:
    key = new_user_key()
    session.add(
        ApiKey(
            id=new_id("key"),
            user_id=user.id,
            account_id=user.account_id,
            key_hash=hash_key(key),
            prefix=display_prefix(key),
            created_time=now,
        )
    )
    return key


async def _target_account(
    session: AsyncSession, principal: Principal, body: UserCreate, now: datetime
) -> Account:
    if body.account_id is not None:
        check_id("account", body.account_id)
        if not principal.is_admin and body.account_id != principal.account_id:
            raise NotFound("Account not found")
        account = await repository.get_account(session, body.account_id)
        if account is None:
            raise NotFound("Account not found")
        return account
    if principal.account_id is not None:
        account = await repository.get_account(session, principal.account_id)
        if account is None:
            raise NotFound("Account not found")
        return account
    account = Account(id=new_id("account"), name=body.company, created_time=now)
    session.add(account)
    await session.flush()
    await create_default_templates(session, account.id, now)
    return account


def _check_grant(principal: Principal, permissions: list[str]) -> None:
    """A user may grant only permissions it holds itself; the admin may grant any."""
    if principal.is_admin:
        return
    missing = [p for p in permissions if p not in principal.permissions]
    if missing:
        raise Forbidden(f"You don't have permission to grant {missing[0]}")


def check_manage(principal: Principal, user: User) -> None:
    """A user may rotate the key of, update or delete only a user holding no permission it
    lacks itself (so always itself); the admin may act on anyone. Without this, a user holding
    only ``users:write`` could take another user's key, and with it that user's permissions."""
    if principal.is_admin:
        return
    order = {name: i for i, name in enumerate(ALL_PERMISSIONS)}
    missing = sorted(
        set(user.permissions) - principal.permissions, key=lambda p: (order.get(p, len(order)), p)
    )
    if missing:
        raise Forbidden(f"You don't have permission to manage a user holding {missing[0]}")


async def get_user(session: AsyncSession, principal: Principal, user_id: str) -> User:
    check_id("user", user_id)
    user = await repository.get_user(session, principal.account_id, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


async def update_user(
    session: AsyncSession, principal: Principal, user: User, body: UserUpdate, now: datetime
) -> User:
    check_manage(principal, user)
    fields = body.model_dump(exclude_unset=True)
    if fields.get("permissions") is not None:
        _check_grant(principal, fields["permissions"])
    for name in ("name", "role", "department", "phone", "status", "permissions"):
        if name in fields:
            if fields[name] is None and name in ("name", "status", "permissions"):
                continue
            setattr(user, name, fields[name])
    if fields.get("metadata") is not None:
        user.metadata_ = merge_metadata(user.metadata_, fields["metadata"])
    # An inactive or suspended user's keys stop working at once (authentication checks the
    # status) and work again when the user is reactivated.
    user.updated_time = max(now, user.created_time)
    await session.flush()
    return user


async def delete_user(session: AsyncSession, principal: Principal, user: User) -> dict[str, Any]:
    check_manage(principal, user)
    keys = await repository.count_keys(session, user.id)
    callouts = await repository.count_callouts_by(session, user.id)
    calls = await repository.count_calls_by(session, user.id)
    emails = await repository.count_emails_by(session, user.id)
    await repository.detach_created_by(session, user.id)
    await session.delete(user)
    await session.flush()
    return {
        "user_account": True,
        "api_keys": keys,
        "activity_history": True,
        # Business records belong to the account, not to the user who created them: they stay,
        # detached from their creator; these are the counts that were detached.
        "associated_resources": {"calls": calls, "emails": emails, "callouts": callouts},
    }


async def activity_stats(session: AsyncSession, user: User) -> ActivityStats:
    return ActivityStats(
        total_calls_made=await repository.count_calls_by(session, user.id),
        total_emails_sent=await repository.count_emails_by(session, user.id),
        total_callouts_created=await repository.count_callouts_by(session, user.id),
        last_activity=user.last_activity,
    )


async def rotate_key(
    session: AsyncSession, principal: Principal, user: User, revoke_existing: bool, now: datetime
) -> str:
    check_manage(principal, user)
    if revoke_existing:
        await repository.revoke_keys(session, user.id, now)
    return issue_key(session, user, now)
