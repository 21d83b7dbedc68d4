"""`create_app`: the one factory that assembles the mock from its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .admin import admin_routes
from .api import ThreadsAPI
from .contract import Contract
from .faults import FaultBook
from .ids import Identity
from .middleware.auth import BearerAuth
from .middleware.context import RequestContext
from .middleware.faults import FaultInjector
from .middleware.journal import Journal, RequestJournal
from .middleware.ratelimit import RateLimit, RateLimiter, TokenBuckets
from .responses import JSONResponse
from .routing import APIDispatch, ContractRoutes, http_exception
from .runs import ReplyBook, RunsAPI
from .settings import Settings
from .store import open_store
from .validation import Validators


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    contract = Contract(settings.contract)
    identity = Identity(settings.seed)
    store = open_store(settings.store, settings.max_threads)
    lenient = settings.mode == "lenient"
    api = ThreadsAPI(store, identity, lenient=lenient)
    replies = ReplyBook(list(settings.replies))
    runs = RunsAPI(api, replies, poll_after_ms=settings.poll_after_ms)
    api.message_guard = runs.refuse_message_during_run
    validators = Validators(contract, settings.max_body_size, id_patterns=not lenient)
    faults = FaultBook(settings.seed, settings.faults)
    journal = Journal(settings.journal_size, body_limit=settings.max_body_size)
    rate_limit = RateLimit.parse(settings.rate_limit) if settings.rate_limit else None
    buckets = TokenBuckets(rate_limit) if rate_limit else None

    async def reset() -> None:
        await store.clear()
        identity.reset()
        replies.clear()
        faults.reset()
        journal.clear()
        if buckets is not None:
            buckets.clear()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # uvicorn runs the shutdown half once the requests in flight have finished (SIGTERM included):
        # the SQLite store then folds its write-ahead log into the file and lets go of it.
        yield
        await store.close()

    async def openapi_json(request: Request) -> Response:
        return Response(contract.json_bytes, media_type="application/json")

    async def openapi_yaml(request: Request) -> Response:
        return Response(contract.text, media_type="application/yaml")

    app = Starlette(
        routes=[
            Route("/openapi.json", openapi_json, methods=["GET"]),
            Route("/openapi.yaml", openapi_yaml, methods=["GET"]),
            *admin_routes(
                reset,
                faults,
                journal,
                settings.admin_token,
                store_stats=store.stats,
                replies=replies,
                threads=store.threads,
            ),
        ],
        # Outermost first. The journal sees every request and its final status; faults come last, so
        # that their answers still carry the request id and the rate-limit headers.
        middleware=[
            *([Middleware(RequestJournal, journal=journal)] if journal.enabled else []),
            Middleware(RequestContext, identity=identity),
            Middleware(BearerAuth, api_keys=settings.api_keys),
            *([Middleware(RateLimiter, buckets=buckets)] if buckets is not None else []),
            Middleware(FaultInjector, book=faults, rate_limit=rate_limit),
            Middleware(
                APIDispatch,
                routes=ContractRoutes(
                    contract, validators, {**api.handlers(), **runs.handlers()}, body_timeout=settings.body_timeout
                ),
            ),
        ],
        exception_handlers={HTTPException: http_exception},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.contract = contract
    app.state.store = store
    app.state.identity = identity
    app.state.reset = reset
    app.state.faults = faults
    app.state.replies = replies
    app.state.journal = journal
    app.state.rate_limits = buckets
    return app


__all__ = ["JSONResponse", "create_app"]
