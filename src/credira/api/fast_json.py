"""The JSON response class of every endpoint: orjson, and bytes passed through as they are."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from credira.kit.envelope import dumps


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return dumps(content)
