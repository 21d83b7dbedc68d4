"""The handlers of the Threads API, one per contract operation: validated call in, object out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .. import errors
from ..ids import Identity
from ..objects import deleted_object, list_object, list_query, merged_within_limit
from ..store import DEFAULT_MAX_THREAD_MESSAGES, JSON, Store, ThreadFull, page_of
from ..types import Call, Handler
from ..vector_stores import ToolResources
from .objects import message_object, thread_object


class ThreadsAPI:
    """The real API's semantics; `lenient` answers unknown ids as Prism and Steady do, by creating them."""

    def __init__(
        self,
        store: Store,
        identity: Identity,
        resources: ToolResources,
        *,
        lenient: bool = False,
        max_messages: int = DEFAULT_MAX_THREAD_MESSAGES,
    ) -> None:
        self.store = store
        self.max_messages = max_messages
        self.identity = identity
        # The files and vector stores threads name, and where a message's attachments go.
        self.resources = resources
        self.lenient = lenient
        # Set by the runs API: refuses a message while a run is active on the thread (one store lookup).
        self.message_guard: Callable[[str, str], Awaitable[None]] | None = None

    def handlers(self) -> dict[str, Handler]:
        return {
            "createThread": self.create_thread,
            "getThread": self.get_thread,
            "modifyThread": self.modify_thread,
            "deleteThread": self.delete_thread,
            "listThreads": self.list_threads,
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

    async def new_thread(self, project: str, body: JSON, where: str = "") -> JSON:
        """A thread and its first messages from a createThread body (also createThreadAndRun's `thread`, its
        errors' params under `where`): the files and vector stores it names checked first, its messages'
        attachments in its tool resources."""
        requests = body.get("messages") or []
        attached = [attachment for request in requests for attachment in request.get("attachments") or []]
        if attached:
            for index, request in enumerate(requests):
                attachments = request.get("attachments") or []
                await self.resources.check_attachments(project, attachments, f"{where}messages[{index}].attachments")
        thread_id = self.identity.new_id("thread")
        resources: JSON = {}
        if body.get("tool_resources"):
            resources = await self.resources.resolved(
                project, body["tool_resources"], where=f"{where}tool_resources", thread=True
            )
        if attached:
            resources = await self.resources.with_attachments(project, resources, attached)
        thread = thread_object(thread_id, self.identity.now(), resources, body.get("metadata"))
        messages = [
            message_object(self.identity.new_id("msg"), thread_id, self.identity.now(), request) for request in requests
        ]
        await self.store.create_thread(project, thread, messages)
        return thread

    async def add_messages(
        self, project: str, thread_id: str, requests: list[JSON], where: str = "attachments"
    ) -> list[JSON]:
        """Messages added to the thread, their attachments (`where`, formatted with a message's index, names
        them in errors) checked before any is added, then joining the thread's tool resources."""
        if any(request.get("attachments") for request in requests):
            if await self.store.get_thread(project, thread_id) is None:
                raise errors.not_found("thread", thread_id)
            for index, request in enumerate(requests):
                await self.resources.check_attachments(project, request.get("attachments") or [], where.format(index))
        added = []
        for request in requests:
            message = message_object(self.identity.new_id("msg"), thread_id, self.identity.now(), request)
            try:
                if not await self.store.add_message(project, message, self.max_messages):
                    raise errors.not_found("thread", thread_id)
            except ThreadFull as full:
                raise errors.thread_full(thread_id, full.most) from None
            if request.get("attachments"):
                await self.resources.attach_to_thread(project, thread_id, request["attachments"])
            added.append(message)
        return added

    async def create_thread(self, call: Call) -> JSON:
        return await self.new_thread(call.project, call.body)

    async def get_thread(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        await self.adopt_thread(call)
        thread = await self.store.get_thread(call.project, thread_id)
        if thread is None:
            raise errors.not_found("thread", thread_id)
        return thread

    async def list_threads(self, call: Call) -> JSON:
        """Foundry's list of a project's threads (contracts/foundry-agents.yaml; OpenAI never had one)."""
        threads = {thread["id"]: thread for thread in await self.store.threads(call.project)}
        ids, has_more = page_of(list(threads), list_query(call))
        return list_object([threads[thread_id] for thread_id in ids], has_more)

    async def modify_thread(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        body = call.body
        await self.adopt_thread(call)
        resources = None
        if body.get("tool_resources") is not None:
            await self.require_thread(call)  # an unknown thread's 404 before what its body names
            resources = await self.resources.resolved(call.project, body["tool_resources"], thread=True)

        def change(thread: JSON) -> JSON:
            thread["metadata"] = merged_within_limit(thread.get("metadata"), body.get("metadata"))
            if resources is not None:
                thread["tool_resources"] = resources
            return thread

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
        await self.adopt_thread(call)
        page = await self.store.list_messages(call.project, thread_id, list_query(call, call.query.get("run_id")))
        if page is None:
            raise errors.not_found("thread", thread_id)
        return list_object(page.items, page.has_more)

    async def create_message(self, call: Call) -> JSON:
        thread_id = call.path["thread_id"]
        await self.adopt_thread(call)
        if self.message_guard is not None:
            await self.message_guard(call.project, thread_id)
        (message,) = await self.add_messages(call.project, thread_id, [call.body])
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
