"""`create_app`: the one factory that assembles the mock from its settings, as a typed `MockApp`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .admin import admin_routes
from .budget import InFlight, Shares
from .contract import FOUNDRY_OVERLAY_NAME, Contract, OperationTable, Validators, default_contract_path
from .conversations import ConversationsAPI
from .faults import FaultBook
from .files import FilesAPI
from .ids import Identity
from .journal import Journal, JournalEntry
from .middleware.auth import BearerAuth
from .middleware.context import RequestContext
from .middleware.dispatch import APIDispatch, http_exception
from .middleware.faults import FaultInjector
from .middleware.journal import RequestJournal
from .middleware.ratelimit import RateLimit, RateLimiter, TokenBuckets
from .responses_api import ResponsesAPI
from .runs import ReplyBook, RunsAPI
from .runs.pace import Pace
from .settings import Settings
from .store import Store, store_for
from .streaming import Streams
from .threads import ThreadsAPI
from .vector_stores import ToolResources, VectorStoresAPI

if TYPE_CHECKING:
    from .fleet import Fleet


class MockApp(Starlette):
    """The mock: Starlette's app, and the parts a test or the admin API reaches (the store, the journal, the
    fault and reply books, the rate-limit buckets, the runs being streamed), each typed. `reset()` puts them
    all back to the start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        ca_file = settings.tls_ca_file
        self.ca_pem = ca_file.read_bytes() if ca_file is not None and ca_file.is_file() else None
        self.contract = Contract.load(settings.contract)
        self.identity = Identity(settings.seed)
        self.shares = Shares.of(settings.max_memory)
        self.store: Store = store_for(settings.store, settings.max_threads, settings.max_file_bytes)
        if self.shares.store is not None:
            self.store.limit_memory(self.shares.store)
        if settings.max_disk is not None:
            self.store.limit_disk(settings.max_disk)
        self.in_flight = InFlight(self.shares.in_flight)
        lenient = settings.mode == "lenient"
        files = FilesAPI(self.store, self.identity, lenient=lenient)
        vector_stores = VectorStoresAPI(files, poll_after_ms=settings.poll_after_ms)
        threads = ThreadsAPI(
            self.store,
            self.identity,
            ToolResources(vector_stores),
            lenient=lenient,
            max_messages=settings.max_thread_messages,
        )
        self.replies = ReplyBook(list(settings.replies))
        # One set of streams for runs and responses: shutdown stops them all.
        self.streams = Streams()
        pace = Pace.parse(settings.pace)
        runs = RunsAPI(threads, self.replies, poll_after_ms=settings.poll_after_ms, pace=pace, streams=self.streams)
        conversations = ConversationsAPI(
            self.store, self.identity, lenient=lenient, max_items=settings.max_thread_messages
        )
        responses = ResponsesAPI(conversations, threads.resources, self.replies, pace=pace, streams=self.streams)
        # For the admin API: the families' objects as they are kept, per project.
        self.conversations, self.responses = conversations, responses
        threads.message_guard = runs.refuse_message_during_run
        self.faults = FaultBook(settings.seed, settings.faults)
        # Instances on one Redis share fault rules and counters, rate-limit buckets and the journal too, through
        # the fleet's twins of the journal, the rate limit's buckets and two middleware (fleet/).
        self.fleet = fleet_for(self.store, self.faults, settings.journal_size)
        journal_class = Journal if self.fleet is None else fleet_middleware().RecordingJournal
        self.journal = journal_class(settings.journal_size, settings.max_body_size, max_bytes=self.shares.journal)
        rate_limit = RateLimit.parse(settings.rate_limit) if settings.rate_limit else None
        self.rate_limits: TokenBuckets | None = None
        if rate_limit is not None:
            self.rate_limits = TokenBuckets(rate_limit) if self.fleet is None else self.fleet.buckets(rate_limit)
        handlers = {
            **threads.handlers(),
            **runs.handlers(),
            **files.handlers(),
            **vector_stores.handlers(),
            **conversations.handlers(),
            **responses.handlers(),
        }
        validators = partial(
            Validators, max_body_size=settings.max_body_size, lenient=lenient, max_file_bytes=settings.max_file_bytes
        )
        operations = OperationTable(self.contract, validators(self.contract), handlers)
        foundry = self.contract.overlay(default_contract_path(FOUNDRY_OVERLAY_NAME))
        foundry_operations = OperationTable(foundry, validators(foundry), handlers)
        # Also read by the dashboard, to tell again why a journaled request failed its checks.
        self.operations, self.foundry_operations = operations, foundry_operations
        super().__init__(
            routes=[
                Route("/openapi.json", self.openapi_json, methods=["GET"]),
                Route("/openapi.yaml", self.openapi_yaml, methods=["GET"]),
                *admin_routes(self),
            ],
            # Outermost first. The journal sees every request and its final status; faults come last, so
            # that their answers still carry the request id and the rate-limit headers.
            middleware=[
                *([self.journal_middleware()] if self.journal.enabled else []),
                Middleware(RequestContext, identity=self.identity),
                Middleware(BearerAuth, api_keys=settings.api_keys),
                *([Middleware(RateLimiter, buckets=self.rate_limits)] if self.rate_limits is not None else []),
                self.faults_middleware(rate_limit),
                Middleware(
                    APIDispatch,
                    operations=operations,
                    body_timeout=settings.body_timeout,
                    in_flight=self.in_flight,
                    foundry_operations=foundry_operations,
                ),
            ],
            exception_handlers={HTTPException: http_exception},
            lifespan=self.lifespan,
        )

    def journal_middleware(self) -> Middleware:
        if self.fleet is None or not isinstance(self.journal, fleet_middleware().RecordingJournal):
            return Middleware(RequestJournal, journal=self.journal)
        return Middleware(fleet_middleware().SharedRequestJournal, journal=self.journal, shared=self.fleet.journal)

    def faults_middleware(self, rate_limit: RateLimit | None) -> Middleware:
        if self.fleet is None:
            return Middleware(FaultInjector, book=self.faults, rate_limit=rate_limit)
        shared = fleet_middleware().SharedFaultInjector
        return Middleware(shared, book=self.faults, shared=self.fleet.faults, rate_limit=rate_limit)

    def memory_use(self) -> dict[str, Any]:
        """The budget and the bytes each part holds against its share (see budget.py)."""
        store = self.store.memory()
        return {
            "max_memory": self.settings.max_memory,
            "store": {"bytes": store["bytes"], "max_bytes": store["max_bytes"]},
            "journal": {"bytes": self.journal.bytes, "max_bytes": self.shares.journal, "entries": len(self.journal)},
            "in_flight": {
                "bytes": self.in_flight.used,
                "max_bytes": self.shares.in_flight,
                "refused": self.in_flight.refused,
            },
        }

    async def requests(self, **filters: Any) -> list[JournalEntry]:
        """The journal as the admin API and the dashboard show it (`Journal.entries`' filters): this instance's,
        or in a fleet the one every instance shares."""
        if self.fleet is None:
            return self.journal.entries(**filters)
        return await self.fleet.journal.entries(**filters)

    async def reset(self) -> None:
        """Every object, runtime fault and reply rule, journal entry, counter and id sequence back to the start."""
        # A fleet's store clears its whole namespace: the shared rules, counters, buckets and journal with it.
        await self.store.clear()
        self.identity.reset()
        self.replies.clear()
        self.faults.reset()
        if self.fleet is not None:
            await self.fleet.faults.reset()
        self.journal.clear()
        if self.rate_limits is not None:
            self.rate_limits.clear()

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        # Before the first request: a store that cannot start fails the start-up, loudly.
        await self.store.open()
        # uvicorn runs the shutdown half once the requests in flight have finished (SIGTERM included):
        # the SQLite store then folds its write-ahead log into the file and lets go of it.
        yield
        await self.streams.close()
        await self.store.close()

    async def openapi_json(self, request: Request) -> Response:
        return Response(self.contract.json_bytes, media_type="application/json")

    async def openapi_yaml(self, request: Request) -> Response:
        return Response(self.contract.text, media_type="application/yaml")


def fleet_for(store: Store, book: FaultBook, journal_size: int) -> Fleet | None:
    """The fleet's shared parts when the store is Redis (fleet/), imported only then: a process on another store
    loads none of it."""
    from .store.backends.redis import RedisStore

    if not isinstance(store, RedisStore):
        return None
    from .fleet import fleet_of

    return fleet_of(store, book, journal_size)


def fleet_middleware() -> ModuleType:
    from .fleet import middleware

    return middleware


def create_app(settings: Settings | None = None) -> MockApp:
    return MockApp(settings or Settings())
