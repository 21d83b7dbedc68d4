"""The handlers of the Conversations API: validated call in, object out.

A conversation is kept as a thread of the store in its project's conversations space (`store/spaces.py`), so
that it is bounded and evicted as threads are; its items are that thread's messages, each
`{"id", "thread_id": the conversation's id, "item"}`, listed in the order they were added and bounded by
`--max-thread-messages`. The Responses API reads a conversation's items as a response's context and appends its
input and output here.
"""

from __future__ import annotations

from .. import errors
from ..ids import Identity
from ..objects import deleted_object, list_object
from ..store import DEFAULT_MAX_THREAD_MESSAGES, EVERYTHING, JSON, ListQuery, Store, ThreadFull
from ..store.spaces import CONVERSATIONS, space
from ..types import Call, Handler
from .items import NewId, included, message_item, new_item, shown


def conversation_object(conversation_id: str, created_at: int, metadata: JSON | None) -> JSON:
    return {"id": conversation_id, "object": "conversation", "created_at": created_at, "metadata": metadata or {}}


def group_of(object_id: str) -> str:
    """The 16 hex digits that end a conversation's (or response's) id, and the ids of its items."""
    return object_id[-16:]


class ConversationsAPI:
    """The real API's semantics; `lenient` makes an unknown conversation on first use, as threads are made."""

    def __init__(
        self, store: Store, identity: Identity, *, lenient: bool = False, max_items: int = DEFAULT_MAX_THREAD_MESSAGES
    ) -> None:
        self.store = store
        self.identity = identity
        self.lenient = lenient
        self.max_items = max_items

    def handlers(self) -> dict[str, Handler]:
        return {
            "createConversation": self.create_conversation,
            "getConversation": self.get_conversation,
            "updateConversation": self.update_conversation,
            "deleteConversation": self.delete_conversation,
            "listConversationItems": self.list_items,
            "createConversationItems": self.create_items,
            "getConversationItem": self.get_item,
            "deleteConversationItem": self.delete_item,
        }

    def id_maker(self, group: str) -> NewId:
        """Ids for the items of one conversation or response: their prefix, the time, the group's digits."""
        return lambda prefix: self.identity.grouped_id(prefix, self.identity.now(), group)

    async def find(self, project: str, conversation_id: str) -> JSON | None:
        """The conversation as kept, or None (never made in lenient mode: for the admin API)."""
        return await self.store.get_thread(space(project, CONVERSATIONS), conversation_id)

    async def conversation(self, project: str, conversation_id: str) -> JSON:
        """The conversation, or its 404 (lenient mode: a new, empty one under that id)."""
        kept = space(project, CONVERSATIONS)
        found = await self.store.get_thread(kept, conversation_id)
        if found is None and self.lenient:
            found = conversation_object(conversation_id, self.identity.now(), None)
            await self.store.create_thread(kept, found, [])
        if found is None:
            raise errors.conversation_not_found(conversation_id)
        return found

    async def items(self, project: str, conversation_id: str) -> list[JSON]:
        """Every item of the conversation, oldest first: a response's context."""
        page = await self.store.list_messages(space(project, CONVERSATIONS), conversation_id, EVERYTHING)
        return [] if page is None else [record["item"] for record in page.items]

    async def conversations(self, project: str) -> list[JSON]:
        """Every conversation of the project, oldest first (the admin API's list)."""
        return await self.store.threads(space(project, CONVERSATIONS))

    async def append(self, project: str, conversation_id: str, items: list[JSON], most: int | None = None) -> bool:
        """The items added at the conversation's end; False when it went meanwhile (deleted or evicted: a response
        that ends in it keeps its output). With `most` (a client's own items), a 400 once it holds that many; a
        response's input and output are never refused for it, as a run's reply is not."""
        kept = space(project, CONVERSATIONS)
        for item in items:
            record = {"id": item["id"], "thread_id": conversation_id, "item": item}
            try:
                if not await self.store.add_message(kept, record, most):
                    return False
            except ThreadFull as full:
                raise errors.conversation_full(conversation_id, full.most) from None
        return True

    async def create_conversation(self, call: Call) -> JSON:
        created_at = self.identity.now()
        group = self.identity.group()
        conversation_id = self.identity.grouped_id("conv", created_at, group)
        new_id = self.id_maker(group)
        items = [new_item(param, new_id) for param in call.body.get("items") or []]
        conversation = conversation_object(conversation_id, created_at, call.body.get("metadata"))
        # At most 20 items (the contract's bound), the conversation and its items in one write.
        records = [{"id": item["id"], "thread_id": conversation_id, "item": item} for item in items]
        await self.store.create_thread(space(call.project, CONVERSATIONS), conversation, records)
        return conversation

    async def get_conversation(self, call: Call) -> JSON:
        return await self.conversation(call.project, call.path["conversation_id"])

    async def update_conversation(self, call: Call) -> JSON:
        conversation_id = call.path["conversation_id"]
        await self.conversation(call.project, conversation_id)
        metadata = call.body["metadata"] or {}

        def change(conversation: JSON) -> JSON:
            # A set, not a merge: the update's metadata is the conversation's metadata.
            conversation["metadata"] = metadata
            return conversation

        updated = await self.store.update_thread(space(call.project, CONVERSATIONS), conversation_id, change)
        if updated is None:
            raise errors.conversation_not_found(conversation_id)
        return updated

    async def delete_conversation(self, call: Call) -> JSON:
        conversation_id = call.path["conversation_id"]
        await self.conversation(call.project, conversation_id)
        # Its items go with it, as a thread's messages do (the responses that used them keep their own copies).
        if not await self.store.delete_thread(space(call.project, CONVERSATIONS), conversation_id):
            raise errors.conversation_not_found(conversation_id)
        return deleted_object(conversation_id, "conversation")

    async def list_items(self, call: Call) -> JSON:
        conversation_id = call.path["conversation_id"]
        await self.conversation(call.project, conversation_id)
        query = ListQuery(limit=call.query["limit"], order=call.query["order"], after=call.query.get("after"))
        page = await self.store.list_messages(space(call.project, CONVERSATIONS), conversation_id, query)
        if page is None:
            raise errors.conversation_not_found(conversation_id)
        include = included(call.query)
        return list_object([shown(record["item"], include) for record in page.items], page.has_more)

    async def create_items(self, call: Call) -> JSON:
        conversation_id = call.path["conversation_id"]
        await self.conversation(call.project, conversation_id)
        new_id = self.id_maker(group_of(conversation_id))
        items = [new_item(param, new_id) for param in call.body["items"]]
        if not await self.append(call.project, conversation_id, items, self.max_items):
            raise errors.conversation_not_found(conversation_id)
        include = included(call.query)
        return list_object([shown(item, include) for item in items], False)

    async def _item(self, call: Call) -> JSON:
        conversation_id, item_id = call.path["conversation_id"], call.path["item_id"]
        await self.conversation(call.project, conversation_id)
        kept = space(call.project, CONVERSATIONS)
        record = await self.store.get_message(kept, conversation_id, item_id)
        if record is None and self.lenient:
            # An unknown item is an empty user message on first use, as a thread's unknown message is.
            placeholder = message_item(item_id, "user", [{"type": "input_text", "text": ""}])
            record = {"id": item_id, "thread_id": conversation_id, "item": placeholder}
            await self.store.add_message(kept, record)
        if record is None:
            raise errors.item_not_found(item_id)
        item: JSON = record["item"]
        return item

    async def get_item(self, call: Call) -> JSON:
        return shown(await self._item(call), included(call.query))

    async def delete_item(self, call: Call) -> JSON:
        await self._item(call)
        conversation_id = call.path["conversation_id"]
        await self.store.delete_message(space(call.project, CONVERSATIONS), conversation_id, call.path["item_id"])
        # The real API answers the conversation, not a deletion object.
        return await self.conversation(call.project, call.path["conversation_id"])
