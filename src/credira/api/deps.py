"""Dependencies every router shares: the session, the principal, permission checks, context."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from credira.api import idempotency
from credira.api.idempotency import IdempotencyIntent
from credira.auth.keys import hash_key
from credira.auth.principal import Principal
from credira.auth.service import UsageStamps, authenticate
from credira.channel.voice.registry import VoiceProviders
from credira.config import Settings
from credira.errors import Forbidden, Unauthorized
from credira.kit.clock import Clock
from credira.llm import LLMClient, LLMSettings
from credira.ratelimit.http import limit_request
from credira.ratelimit.limiter import RequestLimiter

if TYPE_CHECKING:
    from credira.worker.runner import Worker


@dataclass
class Runtime:
    """What ``create_app`` wires once and every request reads."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    read_sessionmaker: async_sessionmaker[AsyncSession]
    clock: Clock
    env_admin_hash: str | None
    voice: VoiceProviders
    worker: Worker | None = None
    # Signs tracking and unsubscribe links; b"" until loaded (the database may be down at start).
    signing_key: bytes = b""
    limiter: RequestLimiter | None = None
    usage_stamps: UsageStamps = field(default_factory=UsageStamps)
    # The voice agent's model (CREDIRA_LLM_URL): one client, so one connection pool, per process.
    llm_client: LLMClient | None = None

    @property
    def rate_limiter(self) -> RequestLimiter:
        """The request rate limiter, built from the settings on first use."""
        if self.limiter is None:
            self.limiter = RequestLimiter.from_settings(self.settings)
        return self.limiter

    @property
    def agent_llm(self) -> LLMClient | None:
        """The client of ``CREDIRA_LLM_URL`` every conversation shares (its pool holds the
        connections kept alive between turns and calls), built on first use and closed at
        shutdown; None without a model (the deterministic policy)."""
        if self.llm_client is None:
            llm = LLMSettings.from_settings(self.settings)
            if llm is not None:
                self.llm_client = LLMClient(llm)
        return self.llm_client

    def wake_worker(self) -> None:
        """New due work was committed: let the embedded worker look now, not at its next poll."""
        if self.worker is not None:
            self.worker.wake()


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


@dataclass
class Ctx:
    """One request's context: who is calling, its session, the clock and its request id."""

    principal: Principal
    session: AsyncSession
    runtime: Runtime
    request_id: str
    request: Request
    idempotency: IdempotencyIntent | None = None

    @property
    def account_id(self) -> str:
        if self.principal.account_id is None:
            raise Forbidden("The admin key manages users only; use a user's API key")
        return self.principal.account_id

    @property
    def clock(self) -> Clock:
        return self.runtime.clock


def require(
    permission: str | None,
    action: str,
    *,
    unauthorized_message: str | None = None,
    allow_admin: bool = False,
) -> Callable[..., AsyncIterator[Ctx]]:
    """A dependency that authenticates and checks one permission.

    ``action`` completes the documented sentence "You don't have permission to <action>".
    """

    async def context(request: Request, session: AsyncSession, rt: Runtime, reading: bool) -> Ctx:
        token = _bearer(request)
        principal = None
        if token is not None:
            principal = await authenticate(
                session,
                token,
                env_admin_hash=rt.env_admin_hash,
                clock=rt.clock,
                writer=rt.sessionmaker if reading else None,
                stamps=rt.usage_stamps,
            )
        if principal is None or token is None:
            raise Unauthorized(unauthorized_message)
        # Every authenticated request counts, refused ones included; before the idempotency
        # record, so a 429 leaves the key free for the retry.
        await limit_request(
            request, rt.rate_limiter, key_hash=hash_key(token), account_id=principal.account_id
        )
        if principal.is_admin and not allow_admin:
            raise Forbidden(
                f"You don't have permission to {action}: the admin key manages users only"
            )
        if permission is not None and not principal.can(permission):
            raise Forbidden(f"You don't have permission to {action}")
        request_id = str(request.scope.get("state", {}).get("request_id", ""))
        intent = None
        if request.method == "POST":
            intent = await idempotency.begin(session, principal.scope, request)
        return Ctx(principal, session, rt, request_id, request, intent)

    async def dependency(request: Request) -> AsyncIterator[Ctx]:
        # One dependency that opens the session, authenticates and checks: every sub-dependency
        # is a step FastAPI takes on every request (a sync one a trip to the thread pool).
        rt = runtime(request)
        reading = request.method in ("GET", "HEAD")
        maker = rt.read_sessionmaker if reading else rt.sessionmaker
        async with maker() as session:
            yield await context(request, session, rt, reading)

    return dependency
