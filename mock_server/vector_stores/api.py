"""The handlers of vector stores, their files and file batches: validated call in, object out.

Processing is driven by polls, as runs are: an attached file is `in_progress` until the next read of it, of
its batch, of its store's files or of its store, which finds it `completed` (its `usage_bytes` its file's
size) and brings the store's and the batch's `file_counts`, `usage_bytes` and `status` along. Every answer
still in progress carries `openai-poll-after-ms`, so the SDK's poll helpers come back quickly.
"""

from __future__ import annotations

from starlette.responses import Response

from .. import errors
from ..files import FilesAPI
from ..objects import deleted_object, list_object, list_query, merged_within_limit
from ..responses import JSONResponse
from ..store import EVERYTHING, JSON, page_of
from ..types import Call, Handler
from .objects import (
    LIVE_BATCH,
    SPEC_BATCH,
    batch_object,
    expires_at,
    file_counts,
    page_object,
    vector_store_file_object,
    vector_store_object,
)
from .search import VECTOR_STORE_FILE, search, text_of

VECTOR_STORE = "vector_store"
BATCH = "vector_store.file_batch"
GONE = {"code": "invalid_file", "message": "The file was removed before it could be processed."}


def member(store_id: str, file_id: str) -> str:
    """A vector store file's record id: a file may be in several stores."""
    return f"{store_id}/{file_id}"


class VectorStoresAPI:
    def __init__(self, files: FilesAPI, *, poll_after_ms: int) -> None:
        self.files = files
        self.store = files.store
        self.identity = files.identity
        self.lenient = files.lenient
        # Lenient mode answers as OpenAI's document and its SDKs have these (see objects.py).
        self.batch_kind = SPEC_BATCH if self.lenient else LIVE_BATCH
        self.unnamed = "" if self.lenient else None
        self.poll_after_ms = poll_after_ms
        files.on_delete = self.forget_file

    def handlers(self) -> dict[str, Handler]:
        return {
            "listVectorStores": self.list_vector_stores,
            "createVectorStore": self.create_vector_store,
            "getVectorStore": self.get_vector_store,
            "modifyVectorStore": self.modify_vector_store,
            "deleteVectorStore": self.delete_vector_store,
            "listVectorStoreFiles": self.list_files,
            "createVectorStoreFile": self.create_file,
            "getVectorStoreFile": self.get_file,
            "updateVectorStoreFileAttributes": self.update_file_attributes,
            "deleteVectorStoreFile": self.delete_file,
            "retrieveVectorStoreFileContent": self.file_content,
            "createVectorStoreFileBatch": self.create_batch,
            "getVectorStoreFileBatch": self.get_batch,
            "cancelVectorStoreFileBatch": self.cancel_batch,
            "listFilesInVectorStoreBatch": self.list_batch_files,
            "searchVectorStore": self.search,
        }

    def answer(self, obj: JSON, pending: bool) -> Response:
        # The SDK's poll helpers sleep this long between retrieves: small keeps tests fast.
        headers = {"openai-poll-after-ms": str(self.poll_after_ms)} if pending else {}
        return JSONResponse(obj, headers=headers)

    # -- the store and its processing

    async def vector_store(self, call: Call) -> JSON:
        """The call's vector store, or the 404; in lenient mode an unknown id is an empty store, made now."""
        store_id = call.path["vector_store_id"]
        found = await self.found_store(call.project, store_id)
        if found is None:
            raise errors.not_found("vector store", store_id)
        return found

    async def found_store(self, project: str, store_id: str) -> JSON | None:
        """The vector store; in lenient mode an unknown id is an empty store, made now."""
        found = await self.store.get_record(project, VECTOR_STORE, store_id)
        if found is None and self.lenient:
            found = vector_store_object(store_id, self.identity.now(), {}, self.unnamed)
            await self.store.put_record(project, VECTOR_STORE, store_id, found)
        return found

    async def known_store(self, project: str, store_id: str, param: str) -> None:
        """The vector store a body names exists (in lenient mode, is made now), else the 400 naming where."""
        if await self.found_store(project, store_id) is None:
            raise errors.no_such_vector_store(store_id, param)

    async def new_store(self, project: str, body: JSON) -> JSON:
        """A vector store made from a createVectorStore body (the files it names were checked by `known_file`),
        its files attached and counted."""
        created_at = self.identity.now()
        store = vector_store_object(self.identity.hex_id("vs", created_at), created_at, body, self.unnamed)
        await self.store.put_record(project, VECTOR_STORE, store["id"], store)
        for file_id in body.get("file_ids") or []:
            request = {"file_id": file_id, "chunking_strategy": body.get("chunking_strategy")}
            await self.attach(project, store["id"], request)
        return await self.recount(project, store["id"]) or store

    async def used(self, project: str, store_id: str) -> None:
        """A search in the store (the endpoint's, or a run's file_search): it was active now, and so expires
        `expires_after` from now, as the real stores' `last_active_at` anchor said."""
        now = self.identity.now()

        def active(store: JSON) -> JSON:
            store["last_active_at"] = now
            store["expires_at"] = expires_at(store["expires_after"], now)
            return store

        await self.store.update_record(project, VECTOR_STORE, store_id, active)

    async def members(self, project: str, store_id: str) -> list[JSON]:
        return (await self.store.list_records(project, VECTOR_STORE_FILE, store_id, EVERYTHING)).items

    async def settle(self, project: str, store_id: str) -> JSON | None:
        """Finishes the processing of every file still in progress, then counts the store again."""
        for record in await self.members(project, store_id):
            entry = record["file"]
            if entry["status"] != "in_progress":
                continue
            found = await self.store.get_record(project, "file", entry["id"])

            def processed(record: JSON, found: JSON | None = found) -> JSON:
                if record["file"]["status"] == "in_progress":
                    done = found is not None
                    record["file"]["status"] = "completed" if done else "failed"
                    record["file"]["usage_bytes"] = found["bytes"] if found is not None else 0
                    record["file"]["last_error"] = None if done else GONE
                return record

            await self.store.update_record(project, VECTOR_STORE_FILE, member(store_id, entry["id"]), processed)
        return await self.recount(project, store_id)

    async def recount(self, project: str, store_id: str) -> JSON | None:
        """The store's file_counts, usage_bytes and status, from its files as they are now."""
        entries = [record["file"] for record in await self.members(project, store_id)]
        statuses = [entry["status"] for entry in entries]

        def counted(store: JSON) -> JSON:
            store["file_counts"] = file_counts(statuses)
            store["usage_bytes"] = sum(e["usage_bytes"] for e in entries if e["status"] == "completed")
            store["status"] = "in_progress" if "in_progress" in statuses else "completed"
            return store

        return await self.store.update_record(project, VECTOR_STORE, store_id, counted)

    async def known_file(self, project: str, file_id: str, param: str) -> None:
        """The file a body names exists (in lenient mode, is made now), else the 400 naming where it was named."""
        if self.lenient:
            await self.files.file(project, file_id)
        elif await self.store.get_record(project, "file", file_id) is None:
            raise errors.no_such_file(file_id, param)

    async def attach(self, project: str, store_id: str, request: JSON, batch: str | None = None) -> JSON:
        """A file into the store, in progress (attached again, it starts over with the new request); its file
        was checked by `known_file`."""
        file_id = request["file_id"]
        entry = vector_store_file_object(file_id, store_id, self.identity.now(), request)
        await self.store.put_record(
            project, VECTOR_STORE_FILE, member(store_id, file_id), {"file": entry, "batch": batch}, parent=store_id
        )
        return entry

    async def forget_file(self, project: str, file_id: str) -> None:
        """A deleted file leaves every vector store it was in."""
        for store in (await self.store.list_records(project, VECTOR_STORE, "", EVERYTHING)).items:
            if await self.store.delete_record(project, VECTOR_STORE_FILE, member(store["id"], file_id)):
                await self.recount(project, store["id"])

    # -- vector stores

    async def list_vector_stores(self, call: Call) -> JSON:
        page = await self.store.list_records(call.project, VECTOR_STORE, "", list_query(call))
        return list_object(page.items, page.has_more)

    async def create_vector_store(self, call: Call) -> Response:
        body = call.body
        for index, file_id in enumerate(body.get("file_ids") or []):
            await self.known_file(call.project, file_id, f"file_ids[{index}]")  # before anything is made
        store = await self.new_store(call.project, body)
        return self.answer(store, store["status"] == "in_progress")

    async def get_vector_store(self, call: Call) -> Response:
        store = await self.vector_store(call)
        settled = await self.settle(call.project, store["id"]) or store
        return self.answer(settled, settled["status"] == "in_progress")

    async def modify_vector_store(self, call: Call) -> JSON:
        body = call.body
        store_id = (await self.vector_store(call))["id"]
        now = self.identity.now()

        def change(store: JSON) -> JSON:
            if "name" in body:
                store["name"] = self.unnamed if body["name"] is None else body["name"]
            if "expires_after" in body:
                store["expires_after"] = body["expires_after"]
            store["last_active_at"] = now
            store["expires_at"] = expires_at(store["expires_after"], now)
            store["metadata"] = merged_within_limit(store.get("metadata"), body.get("metadata"))
            return store

        updated = await self.store.update_record(call.project, VECTOR_STORE, store_id, change)
        if updated is None:
            raise errors.not_found("vector store", store_id)
        return updated

    async def delete_vector_store(self, call: Call) -> JSON:
        store_id = (await self.vector_store(call))["id"]
        if not await self.drop_store(call.project, store_id):
            raise errors.not_found("vector store", store_id)
        return deleted_object(store_id, "vector_store")

    async def drop_store(self, project: str, store_id: str) -> bool:
        """The vector store gone with its files and batches (the files themselves stay); False if it was not there."""
        for kind in (VECTOR_STORE_FILE, BATCH):
            for record in (await self.store.list_records(project, kind, store_id, EVERYTHING)).items:
                record_id = member(store_id, record["file"]["id"]) if kind == VECTOR_STORE_FILE else record["id"]
                await self.store.delete_record(project, kind, record_id)
        return await self.store.delete_record(project, VECTOR_STORE, store_id)

    # -- vector store files

    async def files_page(self, call: Call, batch: str | None = None) -> JSON:
        """A page of the store's files (of one batch's, if given), after processing, narrowed by `filter`."""
        store_id = (await self.vector_store(call))["id"]
        await self.settle(call.project, store_id)
        wanted = call.query.get("filter")
        entries = {
            record["file"]["id"]: record["file"]
            for record in await self.members(call.project, store_id)
            if (batch is None or record["batch"] == batch) and (wanted is None or record["file"]["status"] == wanted)
        }
        chosen, has_more = page_of(list(entries), list_query(call))
        return list_object([entries[file_id] for file_id in chosen], has_more)

    async def list_files(self, call: Call) -> JSON:
        return await self.files_page(call)

    async def create_file(self, call: Call) -> Response:
        store_id = (await self.vector_store(call))["id"]
        await self.known_file(call.project, call.body["file_id"], "file_id")
        entry = await self.attach(call.project, store_id, call.body)
        await self.recount(call.project, store_id)
        return self.answer(entry, True)

    async def member_file(self, call: Call) -> JSON:
        """The call's vector store file, after processing; in lenient mode an unknown one is attached now."""
        store_id, file_id = (await self.vector_store(call))["id"], call.path["file_id"]
        found = await self.store.get_record(call.project, VECTOR_STORE_FILE, member(store_id, file_id))
        if found is None and self.lenient:
            await self.known_file(call.project, file_id, "file_id")
            await self.attach(call.project, store_id, {"file_id": file_id})
        await self.settle(call.project, store_id)
        found = await self.store.get_record(call.project, VECTOR_STORE_FILE, member(store_id, file_id))
        if found is None:
            raise errors.not_found("vector store file", file_id)
        entry: JSON = found["file"]
        return entry

    async def get_file(self, call: Call) -> Response:
        entry = await self.member_file(call)
        return self.answer(entry, entry["status"] == "in_progress")

    async def update_file_attributes(self, call: Call) -> JSON:
        entry = await self.member_file(call)
        attributes = call.body["attributes"] or {}

        def change(record: JSON) -> JSON:
            record["file"]["attributes"] = attributes
            return record

        key = member(entry["vector_store_id"], entry["id"])
        updated = await self.store.update_record(call.project, VECTOR_STORE_FILE, key, change)
        if updated is None:
            raise errors.not_found("vector store file", entry["id"])
        result: JSON = updated["file"]
        return result

    async def delete_file(self, call: Call) -> JSON:
        entry = await self.member_file(call)
        store_id, file_id = entry["vector_store_id"], entry["id"]
        if not await self.store.delete_record(call.project, VECTOR_STORE_FILE, member(store_id, file_id)):
            raise errors.not_found("vector store file", file_id)
        await self.recount(call.project, store_id)
        return deleted_object(file_id, "vector_store.file")

    async def file_content(self, call: Call) -> JSON:
        entry = await self.member_file(call)
        text = await text_of(self.store, call.project, entry["id"])
        return page_object([] if text is None else [{"type": "text", "text": text}])

    # -- file batches

    async def batch(self, call: Call) -> JSON:
        """The call's batch, counted from its files after processing; in lenient mode an unknown id is an
        empty batch, made now."""
        store_id, batch_id = (await self.vector_store(call))["id"], call.path["batch_id"]
        await self.settle(call.project, store_id)
        found = await self.found_batch(call.project, store_id, batch_id)
        if found is None or found["vector_store_id"] != store_id:
            raise errors.not_found("vector store file batch", batch_id)
        statuses = [r["file"]["status"] for r in await self.members(call.project, store_id) if r["batch"] == batch_id]
        counted = batch_object(batch_id, store_id, found["created_at"], statuses, self.batch_kind)
        if found["status"] == "cancelled":
            counted["status"] = "cancelled"
        return counted

    async def found_batch(self, project: str, store_id: str, batch_id: str) -> JSON | None:
        """The batch; in lenient mode an unknown id is an empty batch of the store, made now."""
        found = await self.store.get_record(project, BATCH, batch_id)
        if found is None and self.lenient:
            found = batch_object(batch_id, store_id, self.identity.now(), [], self.batch_kind)
            await self.store.put_record(project, BATCH, batch_id, found, parent=store_id)
        return found

    async def create_batch(self, call: Call) -> Response:
        store_id = (await self.vector_store(call))["id"]
        body = call.body
        shared = {key: body[key] for key in ("chunking_strategy", "attributes") if key in body}
        # Exactly one of the two in strict mode; lenient mode takes both (every file named) or neither.
        named = [({"file_id": f, **shared}, f"file_ids[{i}]") for i, f in enumerate(body.get("file_ids") or [])]
        named += [(request, f"files[{i}].file_id") for i, request in enumerate(body.get("files") or [])]
        for request, where in named:
            await self.known_file(call.project, request["file_id"], where)  # before anything is made
        requests = [request for request, _ in named]
        created_at = self.identity.now()
        batch_id = self.identity.hex_id("vsfb", created_at)
        for request in requests:
            await self.attach(call.project, store_id, request, batch=batch_id)
        batch = batch_object(batch_id, store_id, created_at, ["in_progress"] * len(requests), self.batch_kind)
        await self.store.put_record(call.project, BATCH, batch_id, batch, parent=store_id)
        await self.recount(call.project, store_id)
        return self.answer(batch, batch["file_counts"]["in_progress"] > 0)

    async def get_batch(self, call: Call) -> Response:
        batch = await self.batch(call)
        return self.answer(batch, batch["file_counts"]["in_progress"] > 0)

    async def cancel_batch(self, call: Call) -> JSON:
        store_id = (await self.vector_store(call))["id"]
        batch_id = call.path["batch_id"]
        found = await self.found_batch(call.project, store_id, batch_id)
        if found is None or found["vector_store_id"] != store_id:
            raise errors.not_found("vector store file batch", batch_id)
        statuses = [r["file"]["status"] for r in await self.members(call.project, store_id) if r["batch"] == batch_id]
        if found["status"] == "cancelled" or "in_progress" not in statuses:
            if self.lenient:
                # Nothing left to cancel: answered as it is, as a cancel of a finished run is.
                return await self.batch(call)
            status = "cancelled" if found["status"] == "cancelled" else "completed"
            raise errors.invalid_request(f"Cannot cancel a vector store file batch with status '{status}'.")

        def cancelled(record: JSON) -> JSON:
            if record["file"]["status"] == "in_progress":
                record["file"]["status"] = "cancelled"
            return record

        for record in await self.members(call.project, store_id):
            if record["batch"] == batch_id:
                await self.store.update_record(
                    call.project, VECTOR_STORE_FILE, member(store_id, record["file"]["id"]), cancelled
                )
        await self.store.put_record(call.project, BATCH, batch_id, {**found, "status": "cancelled"}, parent=store_id)
        await self.recount(call.project, store_id)
        return await self.batch(call)

    async def list_batch_files(self, call: Call) -> JSON:
        await self.batch(call)
        return await self.files_page(call, batch=call.path["batch_id"])

    # -- search

    async def search(self, call: Call) -> JSON:
        store_id = (await self.vector_store(call))["id"]
        await self.settle(call.project, store_id)
        await self.used(call.project, store_id)
        body = call.body
        query = body["query"]
        results = await search(
            self.store,
            call.project,
            [store_id],
            query,
            body.get("max_num_results", 10),
            filters=body.get("filters"),
            score_threshold=(body.get("ranking_options") or {}).get("score_threshold", 0.0),
        )
        return {
            "object": "vector_store.search_results.page",
            "search_query": [query] if isinstance(query, str) else list(query),
            "data": results,
            "has_more": False,
            "next_page": None,
        }
