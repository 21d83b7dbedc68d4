"""The handlers of the Files API: an upload streams into the store, a download streams out of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

from .. import errors
from ..ids import Identity
from ..objects import list_object, list_query
from ..store import EVERYTHING, JSON, BlobTooLarge, Store, page_of
from ..types import Call, Handler
from .objects import NOT_DOWNLOADABLE, content_type, file_object

FILE = "file"


async def nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover (makes this an async generator)


async def put_made_file(store: Store, project: str, made: JSON, data: bytes) -> JSON | None:
    """A file the mock makes itself (`made`: its id, created_at and filename), such as a code_interpreter
    image: kept as an upload is, with purpose `assistants_output`; None when it cannot fit in max_file_bytes."""

    async def chunks() -> AsyncIterator[bytes]:
        yield data

    form = {"purpose": "assistants_output"}
    try:
        return await store.put_blob_record(
            project,
            FILE,
            made["id"],
            chunks(),
            lambda size: file_object(made["id"], made["created_at"], made["filename"], size, form),
        )
    except BlobTooLarge:
        return None


class FilesAPI:
    def __init__(self, store: Store, identity: Identity, *, lenient: bool = False) -> None:
        self.store = store
        self.identity = identity
        self.lenient = lenient
        # Set by the vector stores API: takes a deleted file out of every vector store.
        self.on_delete: Callable[[str, str], Awaitable[None]] | None = None

    def handlers(self) -> dict[str, Handler]:
        return {
            "listFiles": self.list_files,
            "createFile": self.create_file,
            "retrieveFile": self.retrieve_file,
            "deleteFile": self.delete_file,
            "downloadFile": self.download_file,
        }

    async def file(self, project: str, file_id: str) -> JSON:
        """The file, or the real 404; in lenient mode an unknown id is an empty `assistants` file, made now."""
        found = await self.store.get_record(project, FILE, file_id)
        if found is None and self.lenient:
            placeholder = {"purpose": "assistants"}
            make = lambda size: file_object(file_id, self.identity.now(), "file", size, placeholder)  # noqa: E731
            found = await self.store.put_blob_record(project, FILE, file_id, nothing(), make)
        if found is None:
            raise errors.file_not_found(file_id)
        return found

    async def list_files(self, call: Call) -> JSON:
        page = await self.store.list_records(call.project, FILE, "", EVERYTHING)
        purpose = call.query.get("purpose")
        files = {f["id"]: f for f in page.items if purpose is None or f["purpose"] == purpose}
        chosen, has_more = page_of(list(files), list_query(call))
        return list_object([files[file_id] for file_id in chosen], has_more)

    async def create_file(self, call: Call) -> JSON:
        upload = call.upload
        assert upload is not None, "createFile is a multipart operation"
        file_id = self.identity.file_id()
        created_at = self.identity.now()
        try:
            # The record is made once the last byte is in and the form has passed the contract.
            return await self.store.put_blob_record(
                call.project,
                FILE,
                file_id,
                upload.file_chunks(),
                lambda size: file_object(file_id, created_at, upload.filename, size, upload.fields),
            )
        except BlobTooLarge as error:
            raise errors.file_too_large(error.limit) from None

    async def retrieve_file(self, call: Call) -> JSON:
        return await self.file(call.project, call.path["file_id"])

    async def delete_file(self, call: Call) -> JSON:
        file_id = call.path["file_id"]
        await self.file(call.project, file_id)
        if not await self.store.delete_record(call.project, FILE, file_id):
            raise errors.file_not_found(file_id)
        if self.on_delete is not None:
            await self.on_delete(call.project, file_id)
        return {"object": "file", "deleted": True, "id": file_id}

    async def download_file(self, call: Call) -> Response:
        file_id = call.path["file_id"]
        found = await self.file(call.project, file_id)
        # The live API kept these files to itself; OpenAI's document says nothing of it, and lenient mode serves them.
        if found["purpose"] in NOT_DOWNLOADABLE and not self.lenient:
            raise errors.download_refused(found["purpose"])
        pieces = await self.store.read_blob(call.project, FILE, file_id)
        if pieces is None:  # evicted or deleted since the record was read
            raise errors.file_not_found(file_id)
        headers = {
            "content-length": str(found["bytes"]),
            "content-disposition": f"attachment; filename*=UTF-8''{quote(found['filename'])}",
        }
        return StreamingResponse(pieces, media_type=content_type(found["filename"]), headers=headers)
