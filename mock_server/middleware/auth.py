"""Bearer authentication as the real API did it; the key names the caller's project. The Azure flavours' own
credentials are read by `azure.AzureEdge`."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from .. import errors
from ..azure import PREFIXES, AzureEdge

OPEN_PATHS = ("/__mock__", "/openapi.json", "/openapi.yaml")
# One test on the path for an OpenAI request, whatever the flavours: they are looked for only past it.
NOT_OPENAI = OPEN_PATHS + PREFIXES


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


class BearerAuth:
    def __init__(self, app: ASGIApp, api_keys: Iterable[str] = ()) -> None:
        self.app = app
        self.api_keys = frozenset(api_keys)
        self.azure = AzureEdge(self.api_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NOT_OPENAI):
            if scope["type"] == "http" and scope["path"].startswith(PREFIXES):
                self.azure.admit(scope)
            await self.app(scope, receive, send)
            return
        key = bearer_token(scope)
        if key is None:
            raise errors.missing_api_key()
        if self.api_keys and key not in self.api_keys:
            raise errors.incorrect_api_key(key)
        scope["state"]["project"] = key
        await self.app(scope, receive, send)
