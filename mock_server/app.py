"""`create_app`: the one factory that assembles the mock from its settings."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .admin import admin_routes
from .api import ThreadsAPI
from .contract import Contract
from .ids import Identity
from .middleware.auth import BearerAuth
from .middleware.context import RequestContext
from .responses import JSONResponse
from .routing import api_routes, http_exception
from .settings import Settings
from .store import open_store
from .validation import Validators


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    contract = Contract(settings.contract)
    identity = Identity(settings.seed)
    store = open_store(settings.store)
    api = ThreadsAPI(store, identity)
    validators = Validators(contract, settings.max_body_size)

    async def reset() -> None:
        await store.clear()
        identity.reset()

    async def openapi_json(request: Request) -> Response:
        return Response(contract.json_bytes, media_type="application/json")

    async def openapi_yaml(request: Request) -> Response:
        return Response(contract.text, media_type="application/yaml")

    app = Starlette(
        routes=[
            Route("/openapi.json", openapi_json, methods=["GET"]),
            Route("/openapi.yaml", openapi_yaml, methods=["GET"]),
            *admin_routes(reset),
            *api_routes(contract, validators, api.handlers()),
        ],
        middleware=[
            Middleware(RequestContext, identity=identity),
            Middleware(BearerAuth, api_keys=settings.api_keys),
        ],
        exception_handlers={HTTPException: http_exception},
    )
    app.state.settings = settings
    app.state.contract = contract
    app.state.store = store
    app.state.identity = identity
    app.state.reset = reset
    return app


__all__ = ["JSONResponse", "create_app"]
