"""The HTTP/1.1 protocol ``credira serve`` runs: uvicorn's httptools protocol with a limit on the
size of each request head (request line and headers).

httptools (llhttp) has no such limit: it gathers a header in memory until the header ends, so
one connection sending an endless header held all of it (a 32 MiB header was read, and answered,
after 2.5 s; two unfinished 64 MiB heads took 160 MiB). uvicorn's other parser, h11, bounds the
head (``h11_max_incomplete_event_size``), but it parses in Python and serves markedly fewer
requests a second. So the bytes of each head are counted here as they arrive, before the parser
sees them; once a head passes the limit it is answered 431 in the error envelope and the rest of
it is read and dropped, never held.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from credira.api.errors import error_payload
from credira.errors import HeadersTooLarge
from credira.kit.envelope import dumps
from credira.kit.ids import new_id

log = structlog.get_logger("credira.http")

# After the refusal, how long the rest of the client's head is still read (and dropped) before
# the connection is closed. Closing at once, with the client's bytes unread, makes the kernel
# reset the connection, and a client still sending then loses the 431 it was sent.
LINGER_SECONDS = 2.0
SECURITY_HEADERS = (
    b"x-content-type-options: nosniff\r\n"
    b"x-frame-options: DENY\r\n"
    b"referrer-policy: no-referrer\r\n"
    b"cache-control: no-store\r\n"
)


class HeadLimitedProtocol(HttpToolsProtocol):
    """Refuses, with 431, a request whose head takes more than ``max_head_bytes``.

    The count starts when a connection opens and again when a request ends, and stops when a
    head is complete; the bytes of a head that arrive in the same read as the end of the request
    before it go uncounted, so a head is held to the limit plus one read at most.
    """

    max_head_bytes: ClassVar[int] = 32 * 1024

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._reading_head = True
        self._head_left = self.max_head_bytes
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if not self._reading_head:
            super().data_received(data)
        elif self._refused:
            return
        elif len(data) <= self._head_left:
            self._head_left -= len(data)
            super().data_received(data)
        else:
            # Past the limit, unless the head ends within the part that still fits.
            fits, self._head_left = self._head_left, 0
            if fits:
                super().data_received(data[:fits])
            if self.transport.is_closing():
                return
            if self._reading_head:
                self._refuse()
                return
            # The rest goes to this protocol, or to the WebSocket one the head switched to.
            protocol = self.transport.get_protocol()
            assert isinstance(protocol, asyncio.Protocol)
            protocol.data_received(data[fits:])

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_head = True
        self._head_left = self.max_head_bytes
        super().on_message_complete()

    def _refuse(self) -> None:
        self._refused = True
        self._unset_keepalive_if_required()
        request_id = new_id("request")
        error = HeadersTooLarge(
            f"The request line and headers exceed the limit of {self.max_head_bytes} bytes"
        )
        body = dumps(error_payload(error, request_id))
        head = [STATUS_LINE[error.status]]
        head.extend(
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        )
        head.append(
            b"content-type: application/json\r\n"
            b"content-length: %d\r\n"
            b"x-request-id: %s\r\n"
            b"%s"
            b"connection: close\r\n\r\n" % (len(body), request_id.encode(), SECURITY_HEADERS)
        )
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        # The client's end of the stream (eof_received) closes the connection before this.
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
        log.warning(
            "http.headers_too_large",
            request_id=request_id,
            client=f"{self.client[0]}:{self.client[1]}" if self.client else None,
            limit=self.max_head_bytes,
        )


def head_limited(max_head_bytes: int) -> type[asyncio.Protocol]:
    """The protocol class for uvicorn's ``http`` option, refusing heads past ``max_head_bytes``."""
    return type("HeadLimitedProtocol", (HeadLimitedProtocol,), {"max_head_bytes": max_head_bytes})
