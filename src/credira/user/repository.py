from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from credira.kit.pagination import Page
from credira.models import Account, ApiKey, Call, Callout, Email, User


async def get_account(session: AsyncSession, account_id: str) -> Account | None:
    return await session.get(Account, account_id)


async def get_user(session: AsyncSession, account_id: str | None, user_id: str) -> User | None:
    query = select(User).where(User.id == user_id)
    if account_id is not None:
        query = query.where(User.account_id == account_id)
    return await session.scalar(query)


async def email_taken(session: AsyncSession, account_id: str, email: str) -> bool:
    """Whether the account has a user with this email, ignoring case (mailboxes are
    case-insensitive in practice, so ``John@x`` and ``john@x`` are one person)."""
    found = await session.scalar(
        select(User.id).where(
            User.account_id == account_id, func.lower(User.email) == email.lower()
        )
    )
    return found is not None


async def list_users(
    session: AsyncSession, account_id: str, status: str | None, page: Page
) -> tuple[list[User], bool, int]:
    query = select(User).where(User.account_id == account_id)
    count = select(func.count()).select_from(User).where(User.account_id == account_id)
    if status is not None:
        query = query.where(User.status == status)
        count = count.where(User.status == status)
    rows = list((await session.scalars(page.apply(query, User.id))).all())
    items, more = page.split(rows)
    return items, more, int(await session.scalar(count) or 0)


async def count_callouts_by(session: AsyncSession, user_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(Callout).where(Callout.created_by == user_id)
        )
        or 0
    )


async def count_calls_by(session: AsyncSession, user_id: str) -> int:
    """Calls placed for callouts and call requests the user created."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Call)
            .where(Call.created_by == user_id, Call.placed_time.is_not(None))
        )
        or 0
    )


async def count_emails_by(session: AsyncSession, user_id: str) -> int:
    """Emails sent for the user's callouts and email requests."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Email)
            .where(Email.created_by == user_id, Email.sent_time.is_not(None))
        )
        or 0
    )


async def count_keys(session: AsyncSession, user_id: str) -> int:
    return int(
        await session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)
        )
        or 0
    )


async def revoke_keys(session: AsyncSession, user_id: str, now: object) -> None:
    await session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_time.is_(None))
        .values(revoked_time=now)
    )


async def detach_created_by(session: AsyncSession, user_id: str) -> None:
    for model in (Callout, Call, Email):
        await session.execute(
            update(model)
            .where(model.created_by == user_id)
            .values(created_by=None)
            .execution_options(synchronize_session=False)
        )
