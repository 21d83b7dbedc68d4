"""Moving Assistants threads to Conversations: each thread's messages become a conversation's items, and the
conversation goes on with a response, as OpenAI's migration guide maps them (threads -> conversations,
messages -> items, runs -> responses).

    python examples/migrate_threads.py thread_abc thread_def     # migrate these threads
    python examples/migrate_threads.py                            # make a demo thread first, then migrate it

Offline against the mock (nothing here knows about it: the SDK reads OPENAI_BASE_URL and OPENAI_API_KEY):

    make run                                   # in one terminal
    OPENAI_BASE_URL=http://127.0.0.1:4010/v1 OPENAI_API_KEY=sk-mock python examples/migrate_threads.py

Ids do not carry over (the API has no mapping): the conversation keeps its thread's id in its metadata.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from openai import OpenAI
from openai.types.beta.threads import Message

# The SDK marks the Assistants API deprecated; reading it is what a migration does.
warnings.filterwarnings("ignore", category=DeprecationWarning)

# The Conversations API takes at most 20 items a call.
BATCH = 20


def as_item(message: Message) -> dict[str, Any]:
    """A thread message as a conversation item: text in the role's own part type, images by URL or file."""
    text_type = "output_text" if message.role == "assistant" else "input_text"
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if part.type == "text":
            parts.append({"type": text_type, "text": part.text.value})
        elif part.type == "image_file":
            parts.append({"type": "input_image", "file_id": part.image_file.file_id, "detail": "auto"})
        elif part.type == "image_url":
            parts.append({"type": "input_image", "image_url": part.image_url.url, "detail": "auto"})
    return {"type": "message", "role": message.role, "content": parts}


def migrate(client: OpenAI, thread_id: str) -> str:
    """The thread's messages, oldest first, copied into a new conversation; its id."""
    items = [as_item(message) for message in client.beta.threads.messages.list(thread_id, order="asc")]
    conversation = client.conversations.create(metadata={"migrated_from": thread_id}, items=items[:BATCH])
    for start in range(BATCH, len(items), BATCH):
        client.conversations.items.create(conversation.id, items=items[start : start + BATCH])
    print(f"migrated {thread_id} -> {conversation.id} ({len(items)} items)")
    return conversation.id


def demo_thread(client: OpenAI) -> str:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Italy?"},
        ]
    )
    return thread.id


def main(thread_ids: list[str]) -> None:
    client = OpenAI()
    for thread_id in thread_ids or [demo_thread(client)]:
        conversation_id = migrate(client, thread_id)
        response = client.responses.create(model="gpt-4o", conversation=conversation_id, input="Thanks! One more?")
        print(f"assistant: {response.output_text}")


if __name__ == "__main__":
    main(sys.argv[1:])
