"""uvicorn's HTTP/1.1 protocols, each response sent in one write (issue 19).

On either parser, uvicorn writes a response's head as soon as the app starts it and its body when it comes: two
writes, so two TCP segments on a connection with TCP_NODELAY, and two wake-ups of the client, for every answer.
The protocols here hand uvicorn a transport that holds what is written during one step of the event loop and
sends it as one write when the step ends: 1.1-1.2x the requests per CPU-second of uvicorn's own protocol on
httptools + uvloop (`make bench`, its "Server stacks" table). The bench's baseline runs on the same protocols.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from typing import Any

import orjson
from uvicorn.protocols.http.h11_impl import H11Protocol

# Past this many bytes held, a write goes out at once: a large answer meets the transport's flow control (which
# pauses the app while the client is slow to read) as soon as it would without the hold.
HOLD_LIMIT = 64 * 1024


class HeldWrites(asyncio.Transport):
    """A connection's transport as uvicorn's protocol sees it: writes made during one step of the event loop are
    joined and written once at its end; everything else goes straight to the real transport. `close` sends what
    is held first, and so does `abort`, as a write before it would have been (`stream_cut` sends its events, then
    the RST)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.transport = transport
        self.loop = loop
        self.held: list[bytes] = []
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.held:
            if len(data) >= HOLD_LIMIT:
                self.transport.write(data)
                return
            self.loop.call_soon(self.flush)
        self.held.append(bytes(data))
        self.size += len(data)
        if self.size >= HOLD_LIMIT:
            self.flush()

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        if not self.held:
            return
        data = self.held[0] if len(self.held) == 1 else b"".join(self.held)
        self.held.clear()
        self.size = 0
        if not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self.flush()
        self.transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def can_write_eof(self) -> bool:
        return self.transport.can_write_eof()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.transport.get_protocol()

    def is_reading(self) -> bool:
        return self.transport.is_reading()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.transport.set_write_buffer_limits(high, low)

    def get_write_buffer_size(self) -> int:
        return self.size + self.transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.transport.get_write_buffer_limits()


# uvicorn keeps the connection's transport as `self.transport` and hands it to each request cycle it starts; its
# flow control was made from the real transport in `connection_made`, so pausing reads stays immediate.


def unparsable(message: str) -> bytes:
    """The answer to bytes the parser refuses (before any app sees them), in the API's envelope rather than
    uvicorn's plain text; then the connection closes, as uvicorn's own answer does."""
    body = orjson.dumps(
        {
            "error": {
                "message": f"The request is not valid HTTP/1.1: {message.rstrip('.')}.",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        }
    )
    head = (
        b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
        b"x-request-id: req_" + secrets.token_hex(16).encode() + b"\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
    )
    return head + body


class OneWrite:
    """What both parsers' protocols change: the held transport, and the API's envelope for unparsable bytes."""

    transport: Any

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self.transport = HeldWrites(transport, asyncio.get_running_loop())

    def send_400_response(self, msg: str) -> None:
        self.transport.write(unparsable(msg))
        self.transport.close()


class CoalescingH11(OneWrite, H11Protocol):  # type: ignore[misc]
    pass


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # no httptools: the h11 one serves (mock_server/stack.py)
    pass
else:

    class CoalescingHttpTools(OneWrite, HttpToolsProtocol):  # type: ignore[misc]
        pass
