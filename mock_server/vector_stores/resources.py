"""Tool resources: the files and vector stores an assistant, a thread or a run names for its tools, and the
files a message attaches for them.

Every file and vector store named must exist (lenient mode makes an unknown one on first use), else the 400
naming where, before anything is made. The `vector_stores` helper makes a vector store of its files. A
message's attachments join its thread's tool resources, as the real API's did: file_search ones go into the
thread's vector store (made when it has none), code_interpreter ones are listed with its code_interpreter
files (at most 20, all a thread object holds). A vector store made by a thread's helper or for its
attachments expires 7 days after it was last active, as the real API's did.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..store import JSON
from .api import VECTOR_STORE, VectorStoresAPI

THREAD_STORE_EXPIRY = {"anchor": "last_active_at", "days": 7}
# The most files a thread's (or an assistant's) code_interpreter lists.
CODE_FILES = 20


def tool_files(attachments: Sequence[JSON], tool: str) -> list[str]:
    """The ids of the attached files meant for a tool, in order, once each."""
    found: list[str] = []
    for attachment in attachments:
        if any(t.get("type") == tool for t in attachment.get("tools") or []) and attachment["file_id"] not in found:
            found.append(attachment["file_id"])
    return found


def store_of(resources: JSON | None) -> str | None:
    """The vector store of a thread's (or an assistant's) file_search, if it has one."""
    ids = ((resources or {}).get("file_search") or {}).get("vector_store_ids") or []
    return ids[0] if ids else None


def with_code_files(resources: JSON, file_ids: Sequence[str]) -> JSON:
    """The resources with these files listed for code_interpreter too (those listed already once, 20 at most)."""
    if not file_ids:
        return resources
    listed = list((resources.get("code_interpreter") or {}).get("file_ids") or [])
    for file_id in file_ids:
        if file_id not in listed and len(listed) < CODE_FILES:
            listed.append(file_id)
    return ordered({**resources, "code_interpreter": {"file_ids": listed}})


def ordered(resources: JSON) -> JSON:
    """code_interpreter before file_search, as the real objects showed them."""
    return {key: resources[key] for key in ("code_interpreter", "file_search") if key in resources}


class ToolResources:
    def __init__(self, vector_stores: VectorStoresAPI) -> None:
        self.vector_stores = vector_stores
        self.store = vector_stores.store

    async def resolved(
        self, project: str, requested: JSON | None, *, where: str = "tool_resources", thread: bool = False
    ) -> JSON:
        """The tool resources a request asks for, as the object shows them: what they name checked, the
        `vector_stores` helper made into a vector store (expiring as a thread's when `thread`)."""
        if not requested:
            return {}
        code = requested.get("code_interpreter")
        search = requested.get("file_search")
        helpers = (search or {}).get("vector_stores")
        for index, file_id in enumerate((code or {}).get("file_ids") or []):
            await self.vector_stores.known_file(project, file_id, f"{where}.code_interpreter.file_ids[{index}]")
        for index, store_id in enumerate((search or {}).get("vector_store_ids") or []):
            await self.vector_stores.known_store(project, store_id, f"{where}.file_search.vector_store_ids[{index}]")
        for index, helper in enumerate(helpers or []):
            for inner, file_id in enumerate(helper.get("file_ids") or []):
                param = f"{where}.file_search.vector_stores[{index}].file_ids[{inner}]"
                await self.vector_stores.known_file(project, file_id, param)
        resources: JSON = {}
        if code is not None:
            resources["code_interpreter"] = {"file_ids": list(code.get("file_ids") or [])}
        if search is not None:
            ids = list(search.get("vector_store_ids") or [])
            for helper in helpers or []:
                if ids:
                    # Both named (lenient mode: the schema has one or the other): the helper's files join the
                    # named store, as a thread or an assistant holds one vector store.
                    for file_id in helper.get("file_ids") or []:
                        request = {"file_id": file_id, "chunking_strategy": helper.get("chunking_strategy")}
                        await self.vector_stores.attach(project, ids[0], request)
                    await self.vector_stores.recount(project, ids[0])
                    continue
                body = {**helper, "expires_after": THREAD_STORE_EXPIRY if thread else None}
                ids.append((await self.vector_stores.new_store(project, body))["id"])
            resources["file_search"] = {"vector_store_ids": ids}
        return resources

    async def check_attachments(self, project: str, attachments: Sequence[JSON], where: str) -> None:
        """Every attached file exists (in lenient mode, is made now), else the 400 naming where."""
        for index, attachment in enumerate(attachments):
            await self.vector_stores.known_file(project, attachment["file_id"], f"{where}[{index}].file_id")

    async def with_attachments(self, project: str, resources: JSON, attachments: Sequence[JSON]) -> JSON:
        """A new thread's resources once its messages' attachments (checked) are in."""
        resources = with_code_files(resources, tool_files(attachments, "code_interpreter"))
        searched = tool_files(attachments, "file_search")
        if not searched:
            return resources
        store_id = store_of(resources)
        if store_id is None:
            made = await self.vector_stores.new_store(project, {"expires_after": THREAD_STORE_EXPIRY})
            store_id = made["id"]
            resources = ordered({**resources, "file_search": {"vector_store_ids": [store_id]}})
        await self._attach(project, store_id, searched)
        return resources

    async def attach_to_thread(self, project: str, thread_id: str, attachments: Sequence[JSON]) -> None:
        """A new message's attachments (checked) added to its thread's resources."""
        coded, searched = tool_files(attachments, "code_interpreter"), tool_files(attachments, "file_search")
        if not (coded or searched):
            return
        thread = await self.store.get_thread(project, thread_id)
        if thread is None:
            return
        named = store_of(thread["tool_resources"])
        if named is not None and await self.store.get_record(project, VECTOR_STORE, named) is None:
            gone = named  # deleted since the thread named it: the attachments make it a new one
        else:
            gone = None
        made = None
        if searched and (named is None or gone is not None):
            made = (await self.vector_stores.new_store(project, {"expires_after": THREAD_STORE_EXPIRY}))["id"]

        def change(thread: JSON) -> JSON:
            resources = with_code_files(thread["tool_resources"] or {}, coded)
            if made is not None and store_of(resources) in (None, gone):
                resources = ordered({**resources, "file_search": {"vector_store_ids": [made]}})
            thread["tool_resources"] = resources
            return thread

        updated = await self.store.update_thread(project, thread_id, change)
        store_id = store_of(updated["tool_resources"]) if updated is not None else None
        if made is not None and made != store_id:
            # Another message made the thread's store meanwhile (or the thread went): this one is not needed.
            await self.vector_stores.drop_store(project, made)
        if searched and store_id is not None:
            await self._attach(project, store_id, searched)

    async def _attach(self, project: str, store_id: str, file_ids: Sequence[str]) -> None:
        for file_id in file_ids:
            await self.vector_stores.attach(project, store_id, {"file_id": file_id})
        await self.vector_stores.recount(project, store_id)

    async def searchable(self, project: str, *resources: JSON | None) -> list[str]:
        """The vector stores a run's file_search looks in (the assistant's, then the thread's), those that still
        exist, each once, with their files processed: the real API held a run back until they were."""
        found: list[str] = []
        for named in resources:
            for store_id in ((named or {}).get("file_search") or {}).get("vector_store_ids") or []:
                if store_id not in found and await self.vector_stores.settle(project, store_id) is not None:
                    await self.vector_stores.used(project, store_id)
                    found.append(store_id)
        return found
