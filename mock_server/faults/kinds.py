"""The fault kinds, one class each: how each reads and writes its value and what answer it produces.

A new kind is one more class here: an `Outcome` with `@register`, its key, how it is written, what the
client gets, `parse`, `data` and `answer`. The grammar, the CLI help, the header's error and the README
table (held to it by a test) take it from the registry.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from starlette.types import ASGIApp, Receive, Scope, Send

from .. import errors
from ..responses import send_json
from .answers import (
    break_contract,
    captured,
    close_connection,
    cut_after,
    cut_short,
    hang,
    read_request,
    slowed,
)
from .durations import go_duration, is_milliseconds, parse_duration, short
from .errors import FaultSyntaxError
from .registry import Kind, Outcome, register
from .values import as_bool, as_delay, as_int, as_text, item_text, quote

if TYPE_CHECKING:
    from ..middleware.ratelimit import RateLimit

DEFAULT_HANG_LIMIT = 600.0


@register
@dataclass(frozen=True)
class Status(Outcome):
    key = "status"
    form = "status=N"
    examples = ("status=503", "status=429; retry_after=2")
    options = ("retry_after", "should_retry", "code", "message")
    gets = (
        "the real API's error envelope for N (400, 401, 403, 404, 409, 429, 500, 502, 503, 504; any other 4xx/5xx "
        "gets a generic one); with `retry_after=2` (seconds) or `retry_after=1500ms` the `retry-after` header (and "
        "`retry-after-ms`), with `should_retry=true\\|false` the `x-should-retry` header; `code=insufficient_quota` "
        'makes a 429 the quota error; `message="..."` and `code=...` replace the envelope\'s'
    )
    raises = "`RateLimitError`, `InternalServerError`, `NotFoundError`, ..."

    status: int
    # In seconds; `retry_after_ms` says it was asked for in milliseconds (then retry-after-ms is sent too).
    retry_after: float | None = None
    retry_after_ms: bool = False
    should_retry: bool | None = None
    code: str | None = None
    message: str | None = None

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        status = as_int("status", values["status"], 0)
        if not 400 <= status <= 599:
            raise FaultSyntaxError(f"status must be an HTTP error status from 400 to 599, not {status}")
        retry_after = None
        retry_after_ms = False
        if "retry_after" in values:
            retry_after = parse_duration(values["retry_after"], "retry_after")
            retry_after_ms = is_milliseconds(values["retry_after"]) or not float(retry_after).is_integer()
        return cls(
            status,
            retry_after,
            retry_after_ms,
            as_bool("should_retry", values["should_retry"]) if "should_retry" in values else None,
            as_text("code", values["code"]) if "code" in values else None,
            as_text("message", values["message"]) if "message" in values else None,
        )

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status}
        if self.retry_after is not None:
            millis = round(self.retry_after * 1000, 3)
            data["retry_after"] = f"{millis:g}ms" if self.retry_after_ms else int(self.retry_after)
        for key in ("should_retry", "code", "message"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    def text(self) -> str:
        # The message is free text: quoted, so that its separators stay its own.
        items = self.data().items()
        return "; ".join(item_text(key, quote(value) if key == "message" else value) for key, value in items)

    def describe(self) -> dict[str, Any]:
        return {"status": self.status}

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        raise self.error(scope, rate_limit)

    def error(self, scope: Scope, rate: RateLimit) -> errors.APIError:
        state = scope["state"]
        retry_in = self.retry_after if self.retry_after is not None else rate.period / rate.limit
        error = errors.for_status(
            self.status,
            request_id=state.get("request_id", ""),
            method=scope["method"],
            path=scope["path"],
            api_key=state.get("project"),
            rate_limit=(rate.limit, rate.window, go_duration(retry_in)),
            code=self.code,
        )
        if self.code is not None:
            error.code = self.code
        if self.message is not None:
            error.message = self.message
        headers = dict(error.headers)
        if self.retry_after is not None:
            headers["retry-after"] = str(math.ceil(self.retry_after))
            if self.retry_after_ms:
                headers["retry-after-ms"] = f"{self.retry_after * 1000:g}"
        if self.should_retry is not None:
            headers["x-should-retry"] = "true" if self.should_retry else "false"
        error.headers = headers
        return error


@register
class Latency(Kind):
    """Not an outcome: a delay before whatever the answer is, which stacks with any outcome. Its value is
    a `Delay` of the model (Fixed, Uniform, LogNormal), drawn per request from the rule's seeded stream."""

    key = "latency"
    form = "latency=DELAY"
    examples = ("latency=250ms",)
    gets = (
        "the real answer, late by DELAY: `250ms`, `100ms..300ms` (uniform), "
        "`lognormal(median=100ms, sigma=0.5, max=2s)`; stacks with any other fault"
    )
    raises = "nothing, it waits"

    parse = staticmethod(as_delay)


class Flag(Outcome):
    """A kind without a value: `reset` in the text form, `"reset": true` as data."""

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        value = values[cls.key]
        if value is not True and not as_bool(cls.key, value):
            raise FaultSyntaxError(f"{cls.key} takes no value")
        return cls()

    def data(self) -> dict[str, Any]:
        return {self.key: True}


class Dropped(Flag):
    """The request read, then the connection closed without an answer."""

    abort: ClassVar[bool]

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        # The request is read first, as a server that fails mid-answer has read it (and the journal shows it).
        await read_request(receive)
        await close_connection(receive, abort=self.abort)


@register
@dataclass(frozen=True)
class Reset(Dropped):
    key = "reset"
    form = "reset"
    examples = ("reset",)
    gets = "the connection reset (RST), no answer"
    raises = "`APIConnectionError`"
    abort = True


@register
@dataclass(frozen=True)
class Empty(Dropped):
    key = "empty"
    form = "empty"
    examples = ("empty",)
    gets = "the request read, then the connection closed with no answer"
    raises = "`APIConnectionError`"
    abort = False


class Spoiled(Flag):
    """The real answer with status 200 and its body spoiled."""

    @staticmethod
    @abstractmethod
    def spoil(body: bytes) -> bytes: ...

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        _, headers, body = await captured(app, scope, receive)
        await send_json(send, self.spoil(body), 200, headers)


@register
@dataclass(frozen=True)
class Malformed(Spoiled):
    key = "malformed"
    form = "malformed"
    examples = ("malformed",)
    gets = "status 200 and the real body cut in half"
    raises = "`json.JSONDecodeError`"
    spoil = staticmethod(cut_short)


@register
@dataclass(frozen=True)
class Invalid(Spoiled):
    key = "invalid"
    form = "invalid"
    examples = ("invalid",)
    gets = "status 200 and valid JSON that breaks the contract (the object without its `id`, a list with `data: null`)"
    raises = "`APIResponseValidationError` with `_strict_response_validation=True`"
    spoil = staticmethod(break_contract)


@register
@dataclass(frozen=True)
class Slow(Outcome):
    key = "slow"
    form = "slow=DURATION"
    examples = ("slow=2s",)
    gets = "the real answer, its headers at once and its body in pieces over DURATION (an event stream too)"
    raises = "nothing, it waits"

    # The time the body takes to arrive.
    duration: float

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        if values["slow"] is True:
            raise FaultSyntaxError("slow needs the time the body takes, e.g. slow=2s")
        return cls(parse_duration(values["slow"], "slow"))

    def data(self) -> dict[str, Any]:
        return {"slow": short(self.duration)}

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        await slowed(app, scope, receive, send, self.duration)


@register
@dataclass(frozen=True)
class Hang(Outcome):
    key = "hang"
    form = "hang[=MAX]"
    examples = ("hang=5s",)
    gets = (
        "no answer until the client gives up (then the request ends), at most 10 min "
        "(or MAX, then the connection is closed)"
    )
    raises = "`APITimeoutError` with a client timeout"

    # The longest the request is held.
    limit: float = DEFAULT_HANG_LIMIT

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        return cls() if values["hang"] is True else cls(parse_duration(values["hang"], "hang"))

    def data(self) -> dict[str, Any]:
        return {"hang": short(self.limit)}

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        await hang(receive, self.limit)


@register
@dataclass(frozen=True)
class StreamCut(Outcome):
    key = "stream_cut"
    form = "stream_cut=N"
    examples = ("stream_cut=5",)
    gets = (
        "a `text/event-stream` answer (a streamed run) cut after its Nth event: the connection is reset; "
        "any other answer passes untouched"
    )
    raises = "the HTTP library's `ReadError` while iterating the stream"

    # The events of a text/event-stream answer sent before the connection is dropped.
    events: int

    @classmethod
    def parse(cls, values: Mapping[str, Any]) -> Self:
        if values["stream_cut"] is True:
            raise FaultSyntaxError("stream_cut needs the number of events sent before the cut, e.g. stream_cut=5")
        return cls(as_int("stream_cut", values["stream_cut"], 0))

    def data(self) -> dict[str, Any]:
        return {"stream_cut": self.events}

    async def answer(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send, rate_limit: RateLimit) -> None:
        await app(scope, receive, cut_after(self.events, receive, send))
