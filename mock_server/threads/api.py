"""The handlers of the Threads API, one per contract operation: validated call in, object out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .. import errors
from ..ids import Identity
from ..objects import deleted_object, list_object, merged_within_limit, tool_resources_object
from ..store import JSON, ListQuery, Store
from ..types import Call, Handler
from .objects import message_object, thread_object


class ThreadsAPI:
    """The real API's semantics; `lenient` answers unknown ids as Prism and Steady do, by creating them."""

    def __init__(self, store: Store, identity: Identity, *, lenient: bool = False) -> None:
        self.store = store
        self.identity = identity
        self.lenient = lenient
        # Set by the runs API: refuses a message while a run is active on the thread (one store lookup).
        self.message_guard: Callable[[str, str], Awaitable[None]] | None = None

    def handlers(self) -> dict[str, Handler]:
        return {
            "createThread": self.create_thread,
            "getThread": self.get_thread,
            "modifyThread": self.modify_thread,
            "deleteThread": self.delete_thread,
            "listMessages": self.list_messages,
            "createMessage": self.create_message,
            "getMessage": self.get_message,
            "modifyMessage": self.modify_message,
            "deleteMessage": self.delete_message,
        }

    async def adopt_thread(self, call: Call) -> None:
        """In lenient mode, an unknown thread id gets a thread of its own on first use."""
        if not self.lenient:
            return
        thread_id = call.path["thread_id"]
        if await self.store.get_thread(call.project, thread_id) is None:
            thread = thread_object(thread_id, self.identity.now(), {}, None)
            await self.store.create_thread(call.project, thread, [])

    async def adopt_message(self, call: Call) -> None:
        """In lenient mode, an unknown message id gets an empty user message on first use."""
        if not self.lenient:
            return
        await self.adopt_thread(call)
        thread_id, message_id = call.path["thread_id"], call.path["message_id"]
        if await self.store.get_message(call.project, thread_id, message_id) is None:
            placeholder = message_object(message_id, thread_id, self.identity.now(), {"role": "user", "content": ""})
            await self.store.add_message(call.project, placeholder)

    async def new_thread(self, project: str, body: JSON) -> JSON:
        """A thread and its first messages from a createThread body (also createThreadAndRun's `thread`)."""
        thread_id = self.identity.new_id("thread")
        thread = thread_object(
            thread_id,
            self.identity.now(),
            tool_resources_object(body.get("tool_resources"), self.identity),
            body.get("metadata"),
        )
        messages = [
            message_object(self.identity.new_id("msg"), thread_id, self.identity.now(), request)
            for request in body.get("messages") or []
        ]
        await self.store.create_thread(project, thread, messages)
        return thread

    async def create_thread(self, call: Call) -> JSON:
        return await self.new_thread(call.project, call.body)

    async def get_thread(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        await self.adopt_thread(call)
        thread = await self.store.get_thread(call.project, thread_id)
        if thread is None:
            raise errors.not_found("thread", thread_id)
        return thread

    async def modify_thread(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        body = call.body

        def change(thread: JSON) -> JSON:
            thread["metadata"] = merged_within_limit(thread.get("metadata"), body.get("metadata"))
            if body.get("tool_resources") is not None:
                thread["tool_resources"] = tool_resources_object(body["tool_resources"], self.identity)
            return thread

        await self.adopt_thread(call)
        updated = await self.store.update_thread(call.project, thread_id, change)
        if updated is None:
            raise errors.not_found("thread", thread_id)
        return updated

    async def delete_thread(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        await self.adopt_thread(call)
        if not await self.store.delete_thread(call.project, thread_id):
            raise errors.not_found("thread", thread_id)
        return deleted_object(thread_id, "thread")

    async def list_messages(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        query = ListQuery(
            limit=call.query["limit"],
            order=call.query["order"],
            after=call.query.get("after"),
            before=call.query.get("before"),
            run_id=call.query.get("run_id"),
        )
        await self.adopt_thread(call)
        page = await self.store.list_messages(call.project, thread_id, query)
        if page is None:
            raise errors.not_found("thread", thread_id)
        return list_object(page.items, page.has_more)

    async def create_message(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        await self.adopt_thread(call)
        if self.message_guard is not None:
            await self.message_guard(call.project, thread_id)
        message = message_object(self.identity.new_id("msg"), thread_id, self.identity.now(), call.body)
        if not await self.store.add_message(call.project, message):
            raise errors.not_found("thread", thread_id)
        return message

    async def require_thread(self, call: Call) -> None:
        if await self.store.get_thread(call.project, call.path["thread_id"]) is None:
            raise errors.not_found("thread", call.path["thread_id"])

    async def get_message(self, call: Call) -> JSON:
        await self.adopt_message(call)
        message = await self.store.get_message(call.project, call.path["thread_id"], call.path["message_id"])
        if message is None:
            await self.require_thread(call)
            raise errors.not_found("message", call.path["message_id"])
        return message

    async def modify_message(self, call: Call) -> JSON:
        metadata = call.body.get("metadata")

        def change(message: JSON) -> JSON:
            message["metadata"] = merged_within_limit(message.get("metadata"), metadata)
            return message

        await self.adopt_message(call)
        updated = await self.store.update_message(call.project, call.path["thread_id"], call.path["message_id"], change)
        if updated is None:
            await self.require_thread(call)
            raise errors.not_found("message", call.path["message_id"])
        return updated

    async def delete_message(self, call: Call) -> JSON:
        await self.adopt_message(call)
        if not await self.store.delete_message(call.project, call.path["thread_id"], call.path["message_id"]):
            await self.require_thread(call)
            raise errors.not_found("message", call.path["message_id"])
        return deleted_object(call.path["message_id"], "thread.message")
