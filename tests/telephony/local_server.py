"""A provider's fake as a real HTTP server on a free loopback port, for the time of an
``async with``: uvicorn serving the fake's Starlette ``app``, and the fake's own background
tasks (the callbacks it sends on its own schedule) cancelled when it stops."""

from __future__ import annotations

import asyncio
from typing import Self

import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tests.support import free_port


class LocalServer:
    app: Starlette

    def __init__(self) -> None:
        self.port = free_port()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no event
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving


class Dropped(Response):
    """A reply whose connection drops after its status line and headers, before its body: what
    a client sees when a provider's load balancer or a network cut loses the answer to a request
    the provider has already acted on (httpx raises ``RemoteProtocolError``)."""

    def __init__(self, status_code: int = 201) -> None:
        super().__init__(status_code=status_code)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": self.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
            }
        )
        raise ConnectionResetError("the fake drops the connection before the body")
