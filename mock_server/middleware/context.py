"""Gives every request its id, the real API's response headers and one access-log line; answers
every error, ours or unexpected, in the OpenAI envelope."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import APIError, cannot_fit, disk_full, server_error, store_unreachable
from ..ids import Identity
from ..responses import send_error
from ..store import DiskFull, StoreUnavailable, TooLarge

access_log = logging.getLogger("threads_mock.access")
error_log = logging.getLogger("threads_mock.error")
OPENAI_VERSION = (b"openai-version", b"2020-10-01")


class RequestContext:
    def __init__(self, app: ASGIApp, identity: Identity) -> None:
        self.app = app
        self.identity = identity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self.identity.request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = int((time.perf_counter() - started) * 1000)
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode()),
                    OPENAI_VERSION,
                    (b"openai-processing-ms", str(elapsed).encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except APIError as error:
            if status:
                raise
            await send_error(error, scope, receive, send_with_headers)
        except TooLarge as error:
            if status:
                raise
            await send_error(cannot_fit(error.size, error.limit), scope, receive, send_with_headers)
        except DiskFull as error:
            if status:
                raise
            await send_error(disk_full(error.limit), scope, receive, send_with_headers)
        except StoreUnavailable as error:  # a store on a server (Redis) that is down for now
            error_log.warning("%s %s (%s): %s", scope["method"], scope["path"], request_id, error)
            if status:
                raise
            await send_error(store_unreachable(), scope, receive, send_with_headers)
        except Exception:
            error_log.exception("unhandled error in %s %s (%s)", scope["method"], scope["path"], request_id)
            if status:
                raise
            await send_error(server_error(request_id), scope, receive, send_with_headers)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("-", 0)
                access_log.info(
                    '%s "%s %s" %s %.1fms %s',
                    client[0],
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                    request_id,
                )
