"""A `multipart/form-data` upload read as it arrives: the file part's bytes go on to whoever consumes
`Upload.file_chunks()` (the store) piece by piece, and only the form's small text fields are kept.

python-multipart (Starlette's own form parser) does the parsing, through its callback API: Starlette's
`Request.form()` would spool the file to a temporary file first, a second copy of every upload.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.types import Receive

from .. import errors
from ..contract.forms import FormSchema
from .bodies import body_of

MULTIPART = "multipart/form-data"


class Upload:
    """One multipart body. Drive it with `file_chunks()`, which reads the whole body and yields the file's
    bytes as they come; when it has ended, `fields` is the form the contract accepted and `filename` the
    file's name. Anything wrong (a malformed body, a repeated part, a form the contract refuses, a text field
    past `text_limit`, a body too slow or cut short) raises an APIError out of `file_chunks()`, so that a
    store consuming it keeps nothing."""

    def __init__(
        self, receive: Receive, content_type: str, form: FormSchema, *, text_limit: int, timeout: float
    ) -> None:
        media, options = parse_options_header(content_type)
        if media.lower() != MULTIPART.encode():
            raise errors.unsupported_content_type(content_type.split(";")[0].strip(), MULTIPART)
        boundary = options.get(b"boundary")
        if not boundary:
            raise errors.invalid_multipart("the Content-Type header names no boundary")
        self.receive = receive
        self.form = form
        self.text_limit = text_limit
        self.timeout = timeout
        self.fields: dict[str, Any] = {}
        self.filename = ""
        self._file_fields = form.file_fields
        self._texts: dict[str, str] = {}
        self._sizes: dict[str, int] = {}
        self._text_bytes = 0
        self._pending: list[bytes] = []
        self._headers: dict[bytes, bytes] = {}
        self._header = [b"", b""]
        self._part: str | None = None
        self._is_file = False
        self._buffer = bytearray()
        self._ended = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": lambda data, start, end: self._header_bytes(0, data[start:end]),
                "on_header_value": lambda data, start, end: self._header_bytes(1, data[start:end]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    async def file_chunks(self) -> AsyncIterator[bytes]:
        deadline = asyncio.get_running_loop().time() + self.timeout
        more = True
        while more:
            try:
                async with asyncio.timeout_at(deadline):
                    message = await self.receive()
            except TimeoutError:
                raise errors.body_timeout(self.timeout) from None
            more = bool(message.get("more_body", False))
            try:
                self._parser.write(body_of(message))
            except MultipartParseError as error:
                raise errors.invalid_multipart(str(error).rstrip(".") or "it cannot be parsed") from None
            for chunk in self._pending:
                yield chunk
            self._pending.clear()
        self._parser.finalize()
        if not self._ended:
            raise errors.invalid_multipart("the body ends before its closing boundary")
        self.fields = self.form.validated(self._texts, self._sizes)

    # -- the parser's callbacks, as the body goes by

    def _part_begin(self) -> None:
        self._headers = {}
        self._header = [b"", b""]

    def _header_bytes(self, which: int, data: bytes) -> None:
        self._header[which] += data

    def _header_end(self) -> None:
        name, value = self._header
        self._headers[name.strip().lower()] = value.strip()
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        raw_name = options.get(b"name")
        if raw_name is None:
            raise errors.invalid_multipart("a part has no name in its Content-Disposition header")
        name = raw_name.decode("utf-8", "replace")
        if name in self._texts or name in self._sizes:
            raise errors.repeated_parameter(name)
        self._part = name
        self._is_file = name in self._file_fields
        self._buffer = bytearray()
        if self._is_file:
            self._sizes[name] = 0
            # A part without a filename (curl -F file=text) is still the file's content, named after the part.
            try:
                self.filename = options.get(b"filename", raw_name).decode("utf-8")
            except UnicodeDecodeError:
                raise errors.filename_not_utf8() from None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part is None:
            return
        if self._is_file:
            self._sizes[self._part] += end - start
            if self.form.max_file_bytes and self._sizes[self._part] > self.form.max_file_bytes:
                raise errors.file_too_large(self.form.max_file_bytes)
            self._pending.append(data[start:end])
            return
        self._text_bytes += end - start
        if self._text_bytes > self.text_limit:
            raise errors.body_too_large(self.text_limit)
        self._buffer += data[start:end]

    def _part_end(self) -> None:
        if self._part is not None and not self._is_file:
            # The form's text is UTF-8, as every client sends it; a byte that is not stands in as U+FFFD.
            self._texts[self._part] = self._buffer.decode("utf-8", "replace")
        self._part = None

    def _end(self) -> None:
        self._ended = True
